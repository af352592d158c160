"""`benchmarks/finetune_settings.py --seed-level`: a record's evolved instruction becomes its seed task
stated with the record's own constraints; the rest of the record (its id, so the split, and its
constraints, but for the task a repeat_prompt constraint repeats) stays as it was."""

from __future__ import annotations

import random

import pytest

from teamsrl_graph.constraints import validate
from teamsrl_graph.constraints.registry import stated

from test_benchmark_results import script

SEED = "Explain how a bicycle stays upright."
EVOLVED = "Explain, step by step and for a physics student, the forces that keep a moving bicycle upright."


@pytest.mark.parametrize("constraints", [
    [{"id": "detectable_format:number_bullet_lists", "kwargs": {"num_bullets": 3}}],
    [{"id": "keywords:forbidden_words", "kwargs": {"forbidden_words": ["wheel"]}},
     {"id": "length_constraints:number_sentences", "kwargs": {"relation": "at most", "num_sentences": 6}}],
    [{"id": "combination:repeat_prompt", "kwargs": {"prompt_to_repeat": EVOLVED}},
     {"id": "punctuation:no_comma", "kwargs": {}}],
])
def test_the_seed_task_is_stated_with_the_records_own_constraints(constraints):
    seed_level = script("finetune_settings").seed_level
    record = {"id": "r7", "seed": f"  {SEED}\n", "instruction": EVOLVED, "input": "", "response": "x",
              "constraints": constraints}
    out = seed_level(record, random.Random(0))
    assert SEED in out["instruction"] and EVOLVED not in out["instruction"]
    assert {k: v for k, v in out.items() if k not in ("instruction", "constraints")} == \
        {k: v for k, v in record.items() if k not in ("instruction", "constraints")}
    assert [c["id"] for c in out["constraints"]] == [c["id"] for c in constraints]
    validate(out["constraints"])
    for before, after in zip(constraints, out["constraints"]):
        expected = {**before["kwargs"], "prompt_to_repeat": SEED} if "prompt_to_repeat" in before["kwargs"] \
            else before["kwargs"]
        assert after["kwargs"] == expected and stated(out["instruction"], after)
