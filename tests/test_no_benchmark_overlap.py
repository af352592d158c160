"""The shipped seeds and test data share no prompt with the IFBench yardstick."""

import json
from pathlib import Path

import pytest

from teamsrl_graph.constraints.yardstick import benchmark_prompts, normalize

ROOT = Path(__file__).resolve().parent.parent
PREFIX = 60  # a seed containing the first 60 normalized characters of a benchmark prompt counts as a copy


def strings(value):
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def texts(path: Path) -> list[str]:
    """The texts a seed or data file holds: JSON(L) string values, or its lines."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [s for line in raw.splitlines() if line.strip() for s in strings(json.loads(line))]
    if path.suffix == ".json":
        return list(strings(json.loads(raw)))
    return [line for line in raw.splitlines() if line.strip()]


TASK_FILES = [ROOT / "teamsrl_graph" / "data" / name for name in
              ("seeds.jsonl", "validation_tasks.jsonl", "heldout_tasks.jsonl")]


def shipped_files() -> list[Path]:
    files = [*TASK_FILES, *sorted((ROOT / "examples").glob("*.txt"))]
    return files + sorted(p for p in (ROOT / "tests" / "data").rglob("*") if p.is_file())


def overlaps(seeds: list[str], prompts: set[str]) -> list[str]:
    """Seeds equal to a benchmark prompt, or containing the start of one (all normalized)."""
    starts = {p[:PREFIX] for p in prompts if len(p) >= PREFIX}
    found = []
    for seed in map(normalize, seeds):
        if seed in prompts or any(start in seed for start in starts):
            found.append(seed)
    return found


@pytest.fixture(scope="module")
def prompts() -> set[str]:
    return benchmark_prompts()


def test_the_shipped_files_are_there():
    files = shipped_files()
    assert len(files) >= 5 and all(f.is_file() for f in files)
    assert sum(len(texts(f)) for f in files) > 100


@pytest.mark.parametrize("path", shipped_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_benchmark_prompt_in_shipped_seeds(path, prompts):
    assert overlaps(texts(path), prompts) == []


def test_the_check_finds_copies(prompts):
    prompt = sorted(p for p in prompts if len(p) > 100)[0]
    assert overlaps([prompt.upper() + "!"], prompts)  # exact match after normalizing
    assert overlaps(["Please answer: " + prompt[:PREFIX] + " and more"], prompts)  # its start inside a seed
    assert not overlaps(["Explain why the sky is blue."], prompts)


def test_reference_answers_are_kept_out_of_the_seeds():
    """The reference-answer set measures general quality; no seed or task may ask one of its instructions."""
    reference = [json.loads(line)["instruction"] for line in
                 (ROOT / "teamsrl_graph" / "data" / "reference_answers.jsonl").read_text().splitlines() if line.strip()]
    seeds = {normalize(t) for path in TASK_FILES + sorted((ROOT / "examples").glob("*.txt")) for t in texts(path)}
    assert len(reference) >= 20 and not {normalize(r) for r in reference} & seeds
    from teamsrl_graph.common.embeddings import default_embedder  # and none that asks the same in other words

    embed = default_embedder()
    similarity = embed(reference) @ embed(sorted(seeds)).T
    assert float(similarity.max()) < 0.75, reference[int(similarity.max(dim=1).values.argmax())]
