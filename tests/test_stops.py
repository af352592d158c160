"""The STOP table: how often STOP fired at each step and the verified yield of the paths it ended."""

import pytest

from teamsrl_graph.evolve.actions import STOP
from teamsrl_graph.evolve.stops import stop_table

A, D = "add_constraints:keywords", "deepen"


def row(step, reached, stops, share, yield_):
    return {"step": step, "reached": reached, "stops": stops, "stop_share": share, "verified_yield": yield_}


@pytest.mark.parametrize("evolutions, max_steps, expected", [
    ([], 2, [row(0, 0, 0, None, None), row(1, 0, 0, None, None)]),
    ([([STOP], True), ([STOP], False), ([D, STOP], True), ([A, D], True)], 2,  # the last ran to the depth limit
     [row(0, 4, 2, 0.5, 0.5), row(1, 2, 1, 0.5, 1.0)]),
    ([([A, STOP], True), ([A, STOP], True), ([A, STOP], False), ([D, D, STOP], False)], 3,
     [row(0, 4, 0, 0.0, None), row(1, 4, 3, 0.75, 0.6667), row(2, 1, 1, 1.0, 0.0)]),
    ([([D], False)], 3, [row(0, 1, 0, 0.0, None), row(1, 0, 0, None, None), row(2, 0, 0, None, None)]),  # budget ended it
])
def test_stop_table(evolutions, max_steps, expected):
    assert stop_table(evolutions, max_steps) == expected


def record(ops, stop, verified):
    return {"path": [{"op": op} for op in ops], "stop": stop, "constraints": [{"id": "x"}],
            "constraints_ok": verified, "response_ok": True}


def test_a_runs_report_counts_only_the_routers_stops():
    from teamsrl_graph.running.report import stops

    records = [record([], "router", True), record([], "router", False), record(["deepen"], "router", True),
               record(["deepen", "breadth"], "max_steps", True), record(["deepen"], "budget", False)]
    assert stops(records, 2) == [row(0, 5, 2, 0.4, 0.5), row(1, 2, 1, 0.5, 1.0)]


@pytest.mark.parametrize("router, settings, reason", [
    (lambda obs: STOP, {}, "router"),
    (lambda obs: "deepen", {}, "max_steps"),
    (lambda obs: "deepen", {"budget": 2}, "budget"),  # the answer and one call: no evolution can be funded
])
def test_the_graph_says_why_an_evolution_ended(make_context, router, settings, reason):
    from teamsrl_graph.evolve.graph import build_graph

    ctx = make_context(router=router, max_steps=1, answer_samples=1, **settings)
    assert build_graph().invoke({"seed": "Explain how tides work."}, context=ctx)["stop"] == reason
