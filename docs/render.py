"""Renders docs/results.md, and the README's headline block, from the result files in results/.

    python -m docs.render            # rewrite the pages
    python -m docs.render --check    # exit 1 (naming the pages) when a page is out of date

Every `results/*.json` is read and checked (`teamsrl_graph.common.results`); results with
`superseded_by` stay in results/ as history and are left out. Each result becomes a section: its
summary, its figures as a two-column table and its table as given, then how it was measured (command,
commit, date, machine). Figures a result names in `headline`, and the table of a result with
`readme_table`, also go to README.md between the `<!-- results:start -->` and `<!-- results:end -->`
markers. It measures nothing itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from teamsrl_graph.common.files import write_text  # noqa: E402
from teamsrl_graph.common.results import load_result  # noqa: E402

START, END = "<!-- results:start -->", "<!-- results:end -->"
INTRO = """# Results

Measurements of this project, rendered from the JSON files in `results/` by `python -m docs.render`
(a test fails when this page is out of date). Each says how it was measured: the command, the commit,
the date and the machine. Small runs on a few CPU cores: read the intervals and the notes before the
figures. Superseded runs stay in `results/` as history and are not shown.

The scripts in `benchmarks/` print ratios against a baseline measured in the same run; a script
records its figures with `teamsrl_graph.common.results.write_result` (as `benchmarks/fault_soak.py`
does), and `python -m docs.render` puts them here. Results measured before this page existed carry
the commit that first recorded their figures.
"""


def cell(value) -> str:
    """A value as table text (pipes escaped, lists joined)."""
    if isinstance(value, list):
        text = ", ".join(cell(v) for v in value)
    elif value is None:
        text = ""
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(columns: list, rows: list) -> list[str]:
    return ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns),
            *("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)]


def machine(info: dict) -> str:
    """"2 cores, x86_64, Linux, load 1.2 (idle)": the cores first, a free-text note last."""
    names = {"load_1min": "load "}
    parts = [f"{info['cores']} cores"] + [f"{names.get(key, '')}{cell(value)}" for key, value in info.items()
                                         if key not in ("cores", "note")]
    return ", ".join(parts) + (f" ({cell(info['note'])})" if info.get("note") else "")


def section(name: str, result: dict) -> list[str]:
    out = [f"## {result['title']}", ""]
    if result.get("summary"):
        out += [result["summary"], ""]
    if result.get("figures"):
        out += table(["figure", "value"], [[key, value] for key, value in result["figures"].items()]) + [""]
    if result.get("rows"):
        out += table(result["columns"], result["rows"]) + [""]
    out += [f"Measured with `{result['command']}` at commit `{result['commit'][:12]}` on {result['date']}, "
            f"{machine(result['machine'])} (`results/{name}`).", ""]
    return out


def current(results_dir: Path) -> list[tuple[str, dict]]:
    """(file name, result) of every result not superseded, in file-name order."""
    loaded = [(path.name, load_result(path)) for path in sorted(results_dir.glob("*.json"))]
    return [(name, result) for name, result in loaded if not result.get("superseded_by")]


def results_page(results: list[tuple[str, dict]]) -> str:
    lines = [INTRO]
    for name, result in results:
        lines += section(name, result)
    if not results:
        lines += ["No results yet.", ""]
    return "\n".join(lines).rstrip() + "\n"


def headline_block(results: list[tuple[str, dict]]) -> str:
    items = [f"- {result['title']}: {key} **{cell(result['figures'][key])}** ({result['date'][:10]}, "
             f"{result['machine']['cores']} cores)" for _, result in results for key in result.get("headline", [])]
    tables = []
    for _, result in results:
        if result.get("readme_table"):
            tables += ["", f"### {result['title']}", "", *table(result["columns"], result["rows"]), "",
                       f"`{result['command']}` ({result['date'][:10]}, {result['machine']['cores']} cores)"]
    if not items and not tables:
        return f"{START}\n{END}"
    return "\n".join([START, "## Measured", "", *items, *tables, "",
                      "How each was measured, and every other result: [docs/results.md](docs/results.md).", END])


def with_headline(readme: str, block: str, source="README.md") -> str:
    if readme.count(START) != 1 or readme.count(END) != 1:
        raise SystemExit(f"{source}: needs exactly one {START} and one {END}")
    head, rest = readme.split(START)
    return head + block + rest.split(END)[1]


def rendered(root: Path = ROOT) -> dict[Path, str]:
    """Each page this script writes -> its text as the result files say it should be."""
    results = current(root / "results")
    readme = root / "README.md"
    return {root / "docs" / "results.md": results_page(results),
            readme: with_headline(readme.read_text(), headline_block(results), readme)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only say which pages are out of date (exit 1)")
    args = ap.parse_args(argv)
    pages = rendered()
    stale = [path for path, text in pages.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date with results/: run python -m docs.render")
        return 1 if stale else 0
    for path in stale:
        write_text(path, pages[path])
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
