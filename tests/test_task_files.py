"""The shipped task files: train seeds, validation tasks and held-out tasks.

Checks their sizes, that `load_seeds` reads every line, that no task repeats or nearly repeats
another (within a file, across the files, or against examples/ and tests/data/), and that the
tasks written after the original seeds carry no length/format/case/keyword requirement of their
own, since those are added later as constraints.
"""

import itertools
import json
import re
from pathlib import Path

import pytest

from teamsrl_graph.dataio.seeds import load_seeds

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "teamsrl_graph" / "data"
# file -> least number of tasks it must hold
SIZES = {"seeds.jsonl": 520, "validation_tasks.jsonl": 120, "heldout_tasks.jsonl": 240}
ORIGINAL_SEEDS = 60  # the first seeds.jsonl lines predate the rules below and are kept as written
NEAR = 0.7  # word-set Jaccard from which two tasks count as near duplicates
# phrases that state a requirement the constraint step adds later
REQUIREMENT = re.compile(
    r"\b(words?|bullets?|lowercase|capital letters|paragraphs?|json|titles?|exactly|at least|at most)\b", re.I
)


def normalize(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def jaccard(a: str, b: str) -> float:
    a, b = set(normalize(a).split()), set(normalize(b).split())
    return len(a & b) / len(a | b) if a | b else 1.0


def near_duplicates(new: list[str], others: list[str]) -> list[tuple[str, str]]:
    """Pairs of a new task with another new task or with one of `others` that are equal after
    normalizing or share at least `NEAR` of their words."""
    pairs = itertools.chain(itertools.combinations(new, 2), itertools.product(new, others))
    return [(a, b) for a, b in pairs if normalize(a) == normalize(b) or jaccard(a, b) >= NEAR]


def tasks(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def new_tasks() -> list[dict]:
    """Every task written under the current rules: seeds after the originals, and the other files."""
    return tasks("seeds.jsonl")[ORIGINAL_SEEDS:] + [t for name in list(SIZES)[1:] for t in tasks(name)]


def other_texts() -> list[str]:
    """The original seeds, the example seed files and every string in the test data."""
    texts = [t["instruction"] for t in tasks("seeds.jsonl")[:ORIGINAL_SEEDS]]
    for path in sorted((ROOT / "examples").glob("*.txt")):
        texts += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for path in sorted((ROOT / "tests" / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            texts += [v for v in json.loads(line).values() if isinstance(v, str)] if line.strip() else []
    return texts


@pytest.mark.parametrize("name, least", SIZES.items())
def test_each_file_is_large_enough_and_loads_whole(name, least):
    rows = tasks(name)
    seeds = load_seeds(DATA / name)
    assert len(rows) >= least
    assert len(seeds) == len(rows)  # nothing dropped as empty, over-long or duplicate
    assert [(s.instruction, s.input) for s in seeds] == [(r["instruction"], r.get("input", "")) for r in rows]
    assert all(set(r) <= {"instruction", "input"} for r in rows)


def test_a_few_tasks_work_on_a_given_text():
    with_input = [t for t in new_tasks() if t.get("input")]
    assert 0 < len(with_input) <= len(new_tasks()) // 10


def stated_requirements(texts: list[str]) -> list[str]:
    """The texts outside 3-60 words or naming a requirement the constraint step would add."""
    return [t for t in texts if not 3 <= len(t.split()) <= 60 or REQUIREMENT.search(t)]


def test_new_tasks_state_no_requirement_of_their_own():
    assert stated_requirements([t["instruction"] for t in new_tasks()]) == []


@pytest.mark.parametrize(
    "text, flagged",
    [
        ("Describe a harbor at dawn.", False),
        ("Describe a harbor at dawn in at most 50 words.", True),
        ("Give the poem a title.", True),
        ("Answer in lowercase: why is snow white?", True),
        ("Why?", True),  # too short to be a task
    ],
)
def test_the_requirement_check_flags_them(text, flagged):
    assert stated_requirements([text]) == ([text] if flagged else [])


def test_no_task_repeats_another_or_the_examples():
    assert near_duplicates([t["instruction"] for t in new_tasks()], other_texts()) == []


@pytest.mark.parametrize(
    "new, others, found",
    [
        (["Explain why ice floats."], ["explain why ICE floats!"], 1),  # equal once normalized
        (["How do whales sing to each other?", "How do whales sing to each other at night?"], [], 1),  # 7 of 9 words
        (["How do whales sing?", "Describe a busy harbor."], ["Why is the sea salty?"], 0),
    ],
)
def test_the_near_duplicate_check_finds_them(new, others, found):
    assert len(near_duplicates(new, others)) == found
