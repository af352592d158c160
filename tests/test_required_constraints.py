"""Every answered instruction carries 1..N verifiable constraints (constraints_per_instruction), drawn
by the run's learned type draw and stated in training phrasings; the draw learns from every sample."""

from collections import Counter

import pytest
from conftest import says_only, wordings

from teamsrl_graph.constraints import TYPES, compatible, stated
from teamsrl_graph.evolve.resources import resources
from teamsrl_graph.running.run import generate

SEEDS = [f"Describe a walk through town number {i}." for i in range(24)]


def run(make_context, **settings):
    ctx = make_context(responder=lambda p: "a short walk past the old mill and the river.", router="fixed",
                       max_steps=0, **settings)
    return generate(SEEDS, context=ctx, concurrency=4, progress=False), resources(ctx)


def test_each_answered_instruction_carries_one_to_n_stated_compatible_constraints(make_context):
    records, res = run(make_context, constraints_per_instruction=3, answer_samples=2)
    counts = Counter(len(r["constraints"]) for r in records)
    assert set(counts) <= {1, 2, 3} and len(counts) >= 2  # how many varies between instructions
    for r in records:
        assert all(stated(r["instruction"], c) for c in r["constraints"])
        assert all(compatible(c["id"], [o for o in r["constraints"] if o is not c]) for c in r["constraints"])
        assert r["verification"]["results"] and r["samples"] >= 1


def test_the_type_draw_learns_from_every_verified_sample(make_context):
    records, res = run(make_context, constraints_per_instruction=1, answer_samples=2)
    results = Counter()
    for r in records:  # samples x constraints verifications, each one recorded in the draw
        results.update(c["id"] for c in r["constraints"] for _ in range(r["samples"]))
    learned = {t: sum(res.draw.posterior(t)) - 2 for t in TYPES}
    assert {t: n for t, n in learned.items() if n} == dict(results)
    lowercase = res.draw.posterior("change_case:english_lowercase")
    assert lowercase[1] == 1 or "change_case:english_lowercase" not in results  # an all-lowercase answer never fails it


def test_without_the_setting_no_constraint_is_added(make_context):
    records, _ = run(make_context, constraints_per_instruction=0)
    assert all(not r["constraints"] and r["verification"] is None and r["instruction"] == r["seed"] for r in records)


def test_added_requirements_use_training_phrasings_only(make_context):
    records, _ = run(make_context, constraints_per_instruction=2, answer_samples=1)
    for r in records:
        for c in r["constraints"]:
            said = wordings(c, "train")
            assert says_only(r["instruction"], c, "train")
            assert any(s[1:] in r["instruction"].lower() or s.split(" ", 1)[-1] in r["instruction"].lower() for s in said)


def test_the_report_gives_the_type_mix_and_its_entropy(make_context, tmp_path):
    import json
    import math

    ctx = make_context(responder=lambda p: "a short walk past the old mill.", router="fixed", max_steps=0,
                       constraints_per_instruction=2, answer_samples=1)
    records = generate(SEEDS, context=ctx, concurrency=4, progress=False, out=tmp_path / "run")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    counts = Counter(c["id"] for r in records for c in r["constraints"])
    mix = report["verification"]["type_mix"]
    assert mix["counts"] == dict(counts)
    total = sum(counts.values())
    assert mix["entropy_bits"] == pytest.approx(-sum(n / total * math.log2(n / total) for n in counts.values()), abs=1e-3)
    assert report["answer_samples"] == sum(r["samples"] for r in records) and report["queries"]["requests"] >= 1
    assert set(report["type_draw"]) and report["verification"]["verified_records"] == sum(
        bool(r["constraints_ok"]) and r["response_ok"] for r in records)


def test_a_dropped_repeat_request_is_stated_again_after_a_rewrite():
    from teamsrl_graph.evolve.steps import restate

    old = "Describe a walk through town."
    repeat = {"id": "combination:repeat_prompt", "kwargs": {"prompt_to_repeat": old}}
    lowercase = {"id": "change_case:english_lowercase", "kwargs": {}}
    new = "Describe, in vivid detail, a walk through an old town at dusk."
    again = restate(new, [repeat, lowercase])
    assert again.startswith(new) and all(stated(again, c) for c in (repeat, lowercase))


@pytest.mark.parametrize("most, weights, allowed", [(3, "1,0,0", {1}), (3, "0,0,1", {3}), (3, "0,1,1", {2, 3}),
                                                    (3, "", {1, 2, 3}), (2, "0,1,1", {2}), (2, "3,2,1", {1, 2})])
def test_constraint_counts_weight_how_many_an_instruction_carries(make_context, most, weights, allowed):
    records, _ = run(make_context, constraints_per_instruction=most, constraint_counts=weights, answer_samples=1)
    counts = Counter(len(r["constraints"]) for r in records)
    assert set(counts) <= allowed and len(counts) == len(allowed)  # every allowed count turns up in 24 draws


@pytest.mark.parametrize("weights", ["1,2", "a,b,c", "0,0,0", "0,0,0,1", "-1,1,1", "nan,1,1", "1,,1"])
def test_bad_constraint_counts_name_the_field(weights):
    from teamsrl_graph.common.errors import InputError
    from teamsrl_graph.evolve.context import Context

    with pytest.raises(InputError) as error:
        Context(constraints_per_instruction=3, constraint_counts=weights)
    assert error.value.field == "constraint_counts"


def test_constraint_counts_serve_any_number_of_constraints():
    """The main job's weights fit a run that asks for fewer constraints, or none."""
    from teamsrl_graph.evolve.context import Context, count_weights

    assert count_weights(Context(constraints_per_instruction=1, constraint_counts="3,2,1")) == [3.0]
    assert count_weights(Context(constraints_per_instruction=0, constraint_counts="3,2,1")) is None


@pytest.mark.parametrize("weights", ["a,b", "1,,1", "3;2;1"])
def test_constraint_counts_that_are_not_numbers_are_refused_even_while_unused(weights):
    """With constraints_per_instruction 0 the weights weigh nothing, but text that is no list of numbers
    is a mistake to say now, not when the count is raised."""
    from teamsrl_graph.common.errors import InputError
    from teamsrl_graph.evolve.context import Context

    with pytest.raises(InputError, match="comma-separated numbers") as error:
        Context(constraint_counts=weights)
    assert error.value.field == "constraint_counts"
    assert Context(constraint_counts="3,2,1").constraints_per_instruction == 0  # good weights, unused: fine
