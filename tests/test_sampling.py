"""Answers sampled k at a time: one request of n samples to an OpenAI-compatible server (the fake one
on loopback), every sample booked and verified, sampling stops at the first passing answer, and the
cap holds when it cannot fund a whole round."""

import pytest

from teamsrl_graph.evolve import steps
from teamsrl_graph.evolve.graph import build_graph
from teamsrl_graph.models.factory import Models, make_chat_model
from teamsrl_graph.evolve.resources import resources
from teamsrl_graph.testing.fake_openai import FakeOpenAI

from conftest import ScriptedChat, context_with, default_expert, default_reviewer

LOWERCASE = {"id": "change_case:english_lowercase", "kwargs": {}}
SEED = "Explain why tides happen."


def run(server, answers, **settings):
    """One seed through the graph (add_constraints drawn as LOWERCASE) with the responder on `server`."""
    replies = iter(answers)
    server.reply = lambda body: next(replies)
    responder = make_chat_model("openai:fake", base_url=server.base_url, max_tokens=64)
    models = Models(expert=ScriptedChat(reply=default_expert), reviewer=ScriptedChat(reply=default_reviewer),
                    responder=responder)
    seen = []
    ctx = context_with(models, router="fixed", max_steps=2, **settings)
    resources(ctx).on_verified = lambda constraints, verification: seen.append(verification["strict"])
    out = build_graph().invoke({"seed": SEED}, context=ctx)
    return out, resources(ctx).budget, seen


def respond_requests(server):
    return [r.body for r in server.requests if r.body and r.body.get("messages")]


@pytest.fixture(autouse=True)
def lowercase(monkeypatch):
    monkeypatch.setattr(steps, "draw_constraint", lambda *args: LOWERCASE)


def test_one_request_carries_a_round_of_samples_and_the_first_passing_one_is_kept():
    with FakeOpenAI() as server:
        out, budget, seen = run(server, ["Tides Rise.", "Tides.", "tides rise twice a day.", "the moon pulls."],
                                answer_samples=8, sample_batch=4)
    bodies = respond_requests(server)
    assert len(bodies) == 1 and bodies[0]["n"] == 4
    assert out["response"] == "tides rise twice a day." and out["constraints_ok"] and out["response_ok"]
    assert budget.by_node["respond"] == 4 and budget.requests == budget.queries - 4 + 1  # 4 samples, one request
    assert out["queries"] == 2 * 2 + 4 and seen == [False, False, True, True]


def test_rounds_go_on_until_the_samples_run_out():
    with FakeOpenAI() as server:
        out, budget, seen = run(server, ["Tides Rise."] * 6, answer_samples=6, sample_batch=4)
    assert [b["n"] for b in respond_requests(server)] == [4, 2]  # the second round is what is left of 6
    assert out["constraints_ok"] is False and not out["response_ok"] and out["response"] == "Tides Rise."
    assert budget.by_node["respond"] == 6 and seen == [False] * 6 and budget.reserved == 0


def test_a_round_the_cap_cannot_fund_shrinks_to_what_it_can():
    # 2 evolutions x (rewrite + review) = 4 calls, the answer's 1 reserved with them: 3 more samples fit in 8
    with FakeOpenAI() as server:
        out, budget, seen = run(server, ["Tides Rise."] * 8, answer_samples=8, sample_batch=4, budget=8)
    assert [b["n"] for b in respond_requests(server)] == [4]
    assert budget.queries == 8 and budget.reserved == 0 and len(seen) == 4


def test_a_retried_request_books_every_sample_it_asked_for():
    with FakeOpenAI(script=["500", "ok"]) as server:
        out, budget, _ = run(server, ["tides rise."] * 4, answer_samples=4, sample_batch=4, max_attempts=2)
    assert server.counts["500"] == 1 and [b["n"] for b in respond_requests(server)] == [4, 4]
    assert budget.by_node["respond"] == 8 and budget.failed == 1 and out["constraints_ok"]
    assert out["queries"] == 2 * 2 + 8
