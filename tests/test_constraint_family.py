"""The router's constraint family: how it is named, how add_constraints prefers it, and the floor that
keeps every constraint type drawn whatever family is chosen."""

import math
import random
from collections import Counter

import pytest

from teamsrl_graph.constraints import FAMILIES, TYPES, TypeDraw, family_of, sample_constraints
from teamsrl_graph.evolve import steps
from teamsrl_graph.evolve.actions import ACTIONS, STOP, Observation, join_action, split_action
from teamsrl_graph.evolve.graph import build_graph
from teamsrl_graph.evolve.routers import FixedRouter, RandomRouter

INSTRUCTION = "Explain how tides work and why there are two a day."


@pytest.mark.parametrize("action, parsed", [
    ("add_constraints:keywords", ("add_constraints", "keywords")),
    ("add_constraints", ("add_constraints", None)),
    ("deepen", ("deepen", None)),
    (STOP, (STOP, None)),
])
def test_actions_name_a_family_only_with_add_constraints(action, parsed):
    assert split_action(action) == parsed and join_action(*parsed) == action


def test_a_family_on_another_operation_is_refused():
    with pytest.raises(ValueError, match="only add_constraints takes a constraint family"):
        split_action("deepen:keywords")


def test_families_are_the_id_prefixes():
    assert set(FAMILIES) == {family_of(t) for t in TYPES} and {"keywords", "length_constraints", "startend"} <= set(FAMILIES)


@pytest.mark.parametrize("router", [RandomRouter(3), FixedRouter()])
def test_the_other_routers_name_no_family(router):
    decisions = [router(Observation(INSTRUCTION, INSTRUCTION, step, 6, index=i)) for i in range(20) for step in range(6)]
    assert all(split_action(d)[1] is None for d in decisions) and set(decisions) <= set(ACTIONS)


DRAWS = 6000


@pytest.mark.parametrize("type_draw", ["learned", "uniform"])
@pytest.mark.parametrize("family", ["punctuation", "detectable_format", "keywords"])
def test_every_type_keeps_half_its_uniform_share_whatever_family_is_chosen(make_context, type_draw, family):
    """A router that always asks for one family: its types come most often, and every type still gets
    at least half its uniform share (less four standard errors of the count, for sampling noise)."""
    ctx = make_context(type_draw=type_draw)
    counts = Counter(steps.draw_constraint(ctx, [], i, 0, INSTRUCTION, family)["id"] for i in range(DRAWS))
    floor = 0.5 / len(TYPES)
    slack = 4 * math.sqrt(floor * (1 - floor) / DRAWS)
    assert min(counts[t] / DRAWS for t in TYPES) >= floor - slack, counts
    mine = sum(n for t, n in counts.items() if family_of(t) == family) / DRAWS
    share = sum(family_of(t) == family for t in TYPES) / len(TYPES)
    assert mine >= 0.5 + share / 2 - 0.03  # the preferred half, plus the family's share of the floor


def test_a_family_that_fits_nowhere_falls_back_to_every_type():
    present = [{"id": "punctuation:no_comma", "kwargs": {}}]  # the family's only type is already there
    drawn = [sample_constraints(random.Random(i), INSTRUCTION, 1, draw=TypeDraw(), existing=present,
                                family="punctuation") for i in range(50)]
    assert all(len(d) == 1 and d[0]["id"] != "punctuation:no_comma" for d in drawn)
    assert len({d[0]["id"] for d in drawn}) > 5


def test_an_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown constraint family 'colours'"):
        sample_constraints(random.Random(0), INSTRUCTION, 1, family="colours")


def test_without_a_family_the_draw_is_what_it_was(make_context):
    """family=None leaves the uniform draw exactly as before: the same types for the same seeds."""
    ctx = make_context(type_draw="uniform")
    for i in range(30):
        rng = random.Random(f"constraint:{ctx.seed}:{i}:0")
        rng.randint(1, 1)  # how many: one
        expected = rng.choice(sorted(TYPES))
        assert steps.draw_constraint(ctx, [], i, 0, INSTRUCTION)["id"] == expected


def test_the_graph_carries_the_routers_family_to_add_constraints(make_context):
    def router(obs):
        return "add_constraints:keywords" if obs.step == 0 else STOP

    ctx = make_context(router=router, max_steps=2, answer_samples=1)
    seeds = [{"seed": f"Explain how {x} work.", "index": i} for i, x in
             enumerate(["tides", "volcanoes", "rainbows", "vaccines", "bridges", "batteries", "magnets", "clouds",
                        "lungs", "rivers", "engines", "markets", "glaciers", "comets", "bees", "lasers"])]
    steps_taken = [out["path"][0] for out in build_graph().batch(seeds, config={"max_concurrency": 1}, context=ctx)]
    assert all(s["op"] == "add_constraints" and s["family"] == "keywords" for s in steps_taken)
    families = Counter(family_of(s["constraint"]["id"]) for s in steps_taken)
    assert families["keywords"] >= 6, families  # about 9 expected; uniform would give about 1 in 6
