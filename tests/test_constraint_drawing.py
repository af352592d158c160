"""TypeDraw: posterior sampling of constraint types with a floor, a broad mix, posterior updates, state round
trips and thread safety; type_mix for reports."""

import json
import math
import random
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teamsrl_graph.constraints import TYPES, TypeDraw, type_mix
from teamsrl_graph.common.errors import InputError

IDS = sorted(TYPES)
PICKS = 3000

histories = st.lists(st.tuples(st.sampled_from(IDS), st.booleans()), max_size=200)
skewed = st.dictionaries(st.sampled_from(IDS), st.tuples(st.integers(0, 500), st.integers(0, 500)), max_size=24)


def filled(counts: dict, **settings_) -> TypeDraw:
    draw = TypeDraw(**settings_)
    for type_id, (passes, fails) in counts.items():
        for _ in range(passes):
            draw.update(type_id, True)
        for _ in range(fails):
            draw.update(type_id, False)
    return draw


@settings(max_examples=25, deadline=None, derandomize=True)
@given(skewed, st.lists(st.sampled_from(IDS), min_size=1, max_size=24, unique=True), st.sampled_from([0.5, 0.2]),
       st.sampled_from(["learn", "pass", "fail"]))
def test_every_allowed_type_keeps_its_floor(counts, allowed, explore, favour):
    """P(pick t) = explore/n + (1 - explore) P(t is drawn from the scores) >= explore/n; estimated here
    over PICKS draws, allowing 4.5 standard errors of sampling noise."""
    draw = filled(counts, explore=explore, favour=favour)
    rng = random.Random(0)
    picks = [draw.pick(rng, allowed) for _ in range(PICKS)]
    floor = explore / len(allowed)
    slack = 4.5 * math.sqrt(floor * (1 - floor) / PICKS)
    for type_id in allowed:
        assert picks.count(type_id) / PICKS >= floor - slack, (type_id, picks.count(type_id))
    assert set(picks) <= set(allowed)


def test_the_floor_binds_on_a_collapsed_posterior():
    """One type always passes, the others always fail: the losers get about explore/n each, no more."""
    allowed = IDS[:4]
    draw = filled({allowed[0]: (400, 0), **{t: (0, 400) for t in allowed[1:]}}, favour="pass")
    rng = random.Random(1)
    picks = [draw.pick(rng, allowed) for _ in range(8000)]
    for loser in allowed[1:]:
        assert 0.105 < picks.count(loser) / 8000 < 0.145  # 0.5 / 4 = 0.125
    assert picks.count(allowed[0]) / 8000 > 0.6  # 0.125 + 0.5


@pytest.mark.parametrize("favour, counts, winner", [
    ("pass", [(60, 10), (10, 60)], 0), ("fail", [(60, 10), (10, 60)], 1),
    ("learn", [(38, 2), (20, 20)], 1), ("learn", [(2, 38), (20, 20)], 1)])
def test_the_draw_prefers_what_it_is_told_to(favour, counts, winner):
    """Two types: the favoured one gets explore/2 plus most of the rest (0.25 + 0.5 x its score share)."""
    a, b = IDS[0], IDS[1]
    draw = filled({a: counts[0], b: counts[1]}, favour=favour)
    rng = random.Random(2)
    picks = [draw.pick(rng, [a, b]) for _ in range(2000)]
    assert picks.count([a, b][winner]) / 2000 > 0.62


def test_a_spread_of_pass_rates_keeps_a_broad_mix():
    """24 types whose pass rates run from 0 to 1 (32 answers each): the default draw favours the middle
    but no type gets more than twice its uniform share, and the mix stays within 0.2 bits of uniform
    (taking the best posterior sample instead gives about half of all picks to the top type)."""
    counts = {t: (round(32 * i / 23), 32 - round(32 * i / 23)) for i, t in enumerate(IDS)}
    draw = filled(counts)
    rng = random.Random(4)
    picks = [draw.pick(rng, IDS) for _ in range(12000)]
    shares = {t: picks.count(t) / len(picks) for t in IDS}
    entropy = -sum(v * math.log2(v) for v in shares.values() if v)
    assert max(shares.values()) < 2 / 24 and entropy > math.log2(24) - 0.2
    middle, ends = IDS[11], (IDS[0], IDS[-1])
    assert all(shares[middle] > 1.8 * shares[end] for end in ends)  # about 0.053 against 0.025


def test_without_observations_the_draw_is_near_uniform():
    rng = random.Random(3)
    draw = TypeDraw()
    picks = [draw.pick(rng, IDS) for _ in range(24 * 300)]
    assert all(200 < picks.count(t) < 400 for t in IDS)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(histories)
def test_updates_count_passes_and_fails_and_survive_a_state_round_trip(history):
    draw = TypeDraw()
    for type_id, passed in history:
        draw.update(type_id, passed)
    for type_id in IDS:
        passes = sum(1 for t, p in history if t == type_id and p)
        fails = sum(1 for t, p in history if t == type_id and not p)
        assert draw.posterior(type_id) == (1 + passes, 1 + fails)
    state = json.loads(json.dumps(draw.state()))
    again = TypeDraw.from_state(state)
    assert again.state() == draw.state()
    assert all(again.posterior(t) == draw.posterior(t) for t in IDS)
    rng1, rng2 = random.Random(9), random.Random(9)
    assert [draw.pick(rng1, IDS) for _ in range(20)] == [again.pick(rng2, IDS) for _ in range(20)]


def test_concurrent_updates_are_all_counted():
    draw = TypeDraw()

    def work(worker):
        rng = random.Random(worker)
        for _ in range(2000):
            draw.update(IDS[worker % 3], True)
            draw.pick(rng, IDS[:3])

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [draw.posterior(t)[0] - 1 for t in IDS[:3]] == [4000, 4000, 4000]


@pytest.mark.parametrize(
    "state, field",
    [
        ([], "state"),
        ({"explore": 0}, "explore/favour"),
        ({"favour": "both"}, "explore/favour"),
        ({"types": []}, "types"),
        ({"types": {"x": {"passes": 1}}}, "types.x.fails"),
        ({"types": {"x": {"passes": -1, "fails": 0}}}, "types.x.passes"),
        ({"types": {"x": {"passes": True, "fails": 0}}}, "types.x.passes"),
    ],
)
def test_bad_state_names_the_field(state, field):
    with pytest.raises(InputError) as caught:
        TypeDraw.from_state(state, source="run/draw.json")
    assert caught.value.field == field and "run/draw.json" in str(caught.value)


def test_pick_needs_allowed_types():
    with pytest.raises(ValueError):
        TypeDraw().pick(random.Random(0), [])


def c(type_id):
    return {"id": type_id, "kwargs": {}}


@pytest.mark.parametrize(
    "lists, counts, bits",
    [
        ([], {}, 0.0),
        ([[c("a")], [c("a")]], {"a": 2}, 0.0),
        ([[c("a"), c("b")]], {"a": 1, "b": 1}, 1.0),
        ([[c("a")], [c("b"), c("c")], [c("d")]], {"a": 1, "b": 1, "c": 1, "d": 1}, 2.0),
        ([[c("a")], [c("a")], [c("a")], [c("b")]], {"a": 3, "b": 1}, 0.811278),
        ([[c(t)] for t in IDS], {t: 1 for t in IDS}, round(math.log2(24), 6)),
    ],
)
def test_type_mix(lists, counts, bits):
    assert type_mix(lists) == {"counts": counts, "entropy_bits": bits}
