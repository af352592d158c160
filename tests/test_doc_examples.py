"""The examples of README.md and docs/: every ```python and ```bash (sh, shell) block is run here, in
the order of its page, unless an HTML comment `<!-- not-run: REASON -->` right before it says why not.

Python blocks of one page share one namespace; bash blocks run in a shell with `teamsrl` on the PATH.
Each page runs in a folder of its own (with copies of `examples/` and `prompts/`), with
`OPENAI_BASE_URL` pointing at the fake OpenAI-compatible server on loopback and a dummy
`OPENAI_API_KEY`, so an example that names an OpenAI model talks to that server. A block after
`<!-- embedded-model -->` runs the real embedded model (with a budget of a few queries): its page is
marked `integration`. A block without a language, or in a language this file does not know, fails, so
that nothing escapes by its fence. The count of blocks run is reported at the end of the session
(conftest.py). It does not check what examples print.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from teamsrl_graph.testing.fake_openai import FakeOpenAI
from teamsrl_graph.testing.soak import scripted_reply

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
RUN = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "shell": "bash"}  # fence -> runner
SHOWN = {"text", "json", "jsonl", "mermaid", "yaml", "toml"}  # fences that are never run
FENCE = re.compile(r"^(\s*)(`{3,})\s*([\w+-]*)[^\n]*$")
NOT_RUN = re.compile(r"^\s*<!--\s*not-run:\s*(\S.*?)\s*-->\s*$")
EMBEDDED = re.compile(r"^\s*<!--\s*embedded-model\s*-->\s*$")  # the block runs the real embedded model


@dataclass
class Block:
    page: Path  # the markdown file
    line: int  # line of the opening fence (1-based)
    lang: str  # the fence's language ("" when none)
    code: str  # the block's text, dedented
    not_run: str | None  # the reason given by a not-run marker right before it
    embedded: bool  # an embedded-model marker right before it: its page runs with the integration tests

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of `page`, with the not-run marker (if any) on the last non-blank line before each."""
    lines, out, i = page.read_text().splitlines(), [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, ticks, lang = m.groups()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == ticks), None)
        if end is None:
            raise AssertionError(f"{page.relative_to(ROOT)}:{i + 1}: fence never closed")
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = NOT_RUN.match(before)
        code = textwrap.dedent("\n".join(lines[i + 1:end]))
        out.append(Block(page, i + 1, lang.lower(), code, marker.group(1) if marker else None,
                         bool(EMBEDDED.match(before))))
        i = end + 1
    return out


ALL = [block for page in PAGES for block in blocks(page)]


def test_every_block_is_run_or_says_why_not(record_property):
    unknown = [f"{b.where} ({b.lang or 'no language'})" for b in ALL if b.lang not in RUN and b.lang not in SHOWN]
    assert not unknown, f"blocks that are neither run nor a known display language: {unknown}"
    stray = [b.where for b in ALL if b.not_run and b.lang not in RUN]
    assert not stray, f"not-run markers before blocks that would not run anyway: {stray}"
    markers = sum(bool(NOT_RUN.match(line)) for page in PAGES for line in page.read_text().splitlines())
    assert markers == sum(b.not_run is not None for b in ALL), "a not-run marker that is not right before a block"
    embedded = sum(bool(EMBEDDED.match(line)) for page in PAGES for line in page.read_text().splitlines())
    assert embedded == sum(b.embedded and b.lang in RUN for b in ALL), "an embedded-model marker not right before a block"
    runnable = [b for b in ALL if b.lang in RUN]
    assert any(b.not_run is None for b in runnable), "no doc example is run at all"
    record_property("doc_examples_not_run", sum(b.not_run is not None for b in runnable))


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI(reply=scripted_reply) as fake:
        yield fake


def page_env(server: FakeOpenAI) -> dict:
    return {
        "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-doc-examples",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "true", "LANGSMITH_TRACING": "false",
    }


def run_block(block: Block, namespace: dict, env: dict, cwd: Path):
    if RUN[block.lang] == "python":
        exec(compile(block.code, block.where, "exec"), namespace)
        return
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{block.where} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def run_pages() -> list:
    """Pages with blocks to run; a page with an embedded-model block is an integration test as a whole."""
    out = []
    for page in PAGES:
        page_blocks = [b for b in blocks(page) if b.lang in RUN and b.not_run is None]
        if page_blocks:
            marks = [pytest.mark.integration] if any(b.embedded for b in page_blocks) else []
            out.append(pytest.param(page, marks=marks, id=str(page.relative_to(ROOT))))
    return out


@pytest.mark.parametrize("page", run_pages())
def test_page_examples_run(page, server, tmp_path, monkeypatch, record_property):
    for folder in ("examples", "prompts"):  # copies: an example may edit them
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = page_env(server)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    namespace, ran = {"__name__": "__doc_example__"}, 0
    try:
        for block in blocks(page):
            if block.lang not in RUN or block.not_run:
                continue
            try:
                run_block(block, namespace, env, tmp_path)
            except Exception as error:
                raise AssertionError(f"doc example {block.where} failed: {error!r}") from error
            ran += 1
    finally:
        record_property("doc_examples_run", ran)


def test_readme_command_line_is_the_one_getting_started_runs():
    """The README's command line example is not run on its own: docs/getting-started.md runs it."""
    readme = next(b for b in blocks(ROOT / "README.md") if b.code.startswith("teamsrl generate"))
    started = next(b for b in blocks(ROOT / "docs" / "getting-started.md") if b.code.startswith("teamsrl generate"))
    assert readme.not_run and started.not_run is None
    assert readme.code.replace("--out runs/small", "--out runs/first") == started.code
