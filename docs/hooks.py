"""mkdocs hook: renders the `teamsrl` command line's help into the CLI reference page.

The page `reference/cli.md` holds the marker `<!-- cli-reference -->`; at build time it is replaced by
the help of every subcommand (and sub-subcommand), taken from `teamsrl_graph.cli.build_parser()`, so
the reference cannot drift from the parsers. It does not run any command.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

MARKER = "<!-- cli-reference -->"
ROOT = Path(__file__).resolve().parent.parent


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subparsers of `parser` by name (empty when it has none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def sections(parser: argparse.ArgumentParser, path: list[str], level: int = 2) -> list[str]:
    """Markdown for `parser` and, below it, each of its subcommands."""
    out = [f"{'#' * level} `{' '.join(path)}`", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, sub in subcommands(parser).items():
        out += sections(sub, path + [name], level + 1)
    return out


def render() -> str:
    """The whole generated reference (a stable width, whatever the terminal)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from teamsrl_graph.cli import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        return "\n".join(sections(build_parser(), ["teamsrl"]))
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, render())
    return markdown
