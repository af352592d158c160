"""The command line starts light and speaks one language: building the parser (what every --help
does) loads none of the heavy libraries, --version prints the package version, the global options
work after the subcommand, renamed options keep their old spellings as warned aliases, and
`generate`'s progress bar counts booked calls as they are booked."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import teamsrl_graph
from teamsrl_graph.running import run as run_module
from teamsrl_graph.cli import COMMANDS, build_parser, parse_args

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "peft", "trl", "datasets", "langchain_core", "langgraph", "openai", "tqdm")
PROBE = """
import json, sys
from teamsrl_graph.cli import build_parser
parser = build_parser()
for name in sys.argv[1:]:
    parser._subparsers._group_actions[0].choices[name].format_help()
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})))
"""


def python(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, check=True)


def test_building_the_parser_and_every_help_loads_no_heavy_library():
    out = python("-c", PROBE.format(heavy=set(HEAVY)), *COMMANDS)
    assert json.loads(out.stdout) == []


def test_version_prints_the_package_version():
    assert python("-m", "teamsrl_graph.cli", "--version").stdout.strip() == f"teamsrl {teamsrl_graph.__version__}"


@pytest.mark.parametrize("argv, verbose, quiet", [
    (["generate", "--out", "o"], False, False),
    (["-v", "generate", "--out", "o"], True, False),
    (["generate", "--out", "o", "-v"], True, False),
    (["generate", "-q", "--out", "o"], False, True),
    (["--quiet", "eval", "--run", "r"], False, True),
    (["eval", "--run", "r", "--verbose"], True, False),
])
def test_global_options_work_before_and_after_the_subcommand(argv, verbose, quiet):
    args = parse_args(argv)
    assert (args.verbose, args.quiet) == (verbose, quiet)


def test_verbose_and_quiet_together_are_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        parse_args(["-v", "generate", "--out", "o", "-q"])
    assert stop.value.code == 2 and "cannot be used together" in capsys.readouterr().err


@pytest.mark.parametrize("command, new, old, dest, value", [
    (["eval", "--run", "r"], "--judge-tokens", "--max-new-tokens", "max_new_tokens", 77),
    (["eval", "--run", "r"], "--heldout-records", "--heldout", "heldout", "held.jsonl"),
    (["pit", "prefs", "--data", "d", "--out", "o"], "--answer-tokens", "--tokens", "tokens", 33),
])
def test_renamed_options_work_under_both_names_and_the_old_one_warns(capsys, command, new, old, dest, value):
    assert getattr(parse_args([*command, new, str(value)]), dest) == value
    assert "deprecated" not in capsys.readouterr().err
    assert getattr(parse_args([*command, old, str(value)]), dest) == value
    assert f"{old} is deprecated; use {new}" in capsys.readouterr().err


def test_answer_tokens_is_the_one_name_for_an_answers_length():
    commands = build_parser()._subparsers._group_actions[0].choices
    for name in ("generate", "pipeline", "eval", "hir"):
        names = [a.option_strings[0] for a in commands[name]._actions if a.option_strings]
        assert "--answer-tokens" in names and not {"--max-new-tokens", "--tokens"} & set(names), name


def test_the_progress_bar_follows_booked_calls(make_context, monkeypatch):
    bars, seen = [], []

    class Watched(run_module.Progress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    def expert(prompt):  # runs after its call was booked: the bar must already show it
        bar = bars[0]
        seen.append((bar.bar.n, bar.ledger.queries - bar.start))
        return "A helpful, complete answer with several concrete points and one example."

    monkeypatch.setattr(run_module, "Progress", Watched)
    ctx = make_context(expert=expert, router="fixed", max_steps=0, answer_samples=1, budget=8)
    records = run_module.generate(["Name a fruit.", "Name a colour.", "Name a tree."], context=ctx, concurrency=1)
    assert len(records) == 3 and len(seen) == 3
    assert seen == [(1, 1), (2, 2), (3, 3)]
