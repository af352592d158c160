"""The environment's terminal answer: each finished episode answered once, as the main job answers a
record, its credit and every sample on the episode's last transition, within the ledger's cap."""

import itertools
import random
import threading

import pytest

from conftest import ScriptedChat, task_of
from test_benchmark_results import script
from teamsrl_graph.dataio.seeds import Seed
from teamsrl_graph.evolve import steps
from teamsrl_graph.evolve.actions import OPERATIONS, STOP
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.evolve.graph import build_graph
from teamsrl_graph.evolve.resources import resources
from teamsrl_graph.models.factory import Models
from teamsrl_graph.policy.env import EvolutionEnv
from teamsrl_graph.policy.reward import RewardWeights
from teamsrl_graph.policy.train import episode_stops
from teamsrl_graph.running.budget import Budget

LOWERCASE = {"id": "change_case:english_lowercase", "kwargs": {}}
FAILS = "Tides Rise Twice A Day Because The Moon Pulls The Oceans."  # usable, not all lowercase
PASSES = "tides rise twice a day because the moon pulls the oceans."
WEIGHTS = RewardWeights(verify=0.5, novelty=0.0, query_cost=0.1)


def evolving(prompt):
    return f"{task_of(prompt)} Explain why, step by step, with one example."


def unchanged(prompt):
    return task_of(prompt)  # eliminated by the free checks: one query, the review given back


def scripted_models(replies: list[str], expert=evolving) -> Models:
    """The responder gives `replies` in order (the last one again after them); the reviewer keeps everything."""
    lock, counter = threading.Lock(), itertools.count()

    def responder(prompt):
        with lock:
            return replies[min(next(counter), len(replies) - 1)]

    return Models(expert=ScriptedChat(reply=expert), reviewer=ScriptedChat(reply=lambda p: "Yes"),
                  responder=ScriptedChat(reply=responder))


def env_answering(replies: list[str], answer_samples: int = 8, budget: Budget | None = None, max_steps: int = 1,
                  expert=evolving, weights: RewardWeights = WEIGHTS, n_envs: int = 1, repair: str = "off") -> EvolutionEnv:
    """Episodes on an instruction that carries LOWERCASE (no constraint is added at answer time); answers
    as sampled unless `repair` is on."""
    env = EvolutionEnv(Context(max_steps=max_steps, answer_samples=answer_samples, repair=repair), [Seed("Explain tides.")],
                       n_envs=n_envs, models=scripted_models(replies, expert), weights=weights, budget=budget)
    env.reset()
    for e in env.episodes:
        e.inherited = [LOWERCASE]
    return env


def responder_calls(env) -> int:
    return len(env.resources.models.responder.calls)


@pytest.mark.parametrize("replies, answer_samples, cap, verified, samples", [
    ([FAILS, FAILS, PASSES], 8, None, True, 3),  # stops at the first answer that passes: 3 booked
    ([PASSES], 8, None, True, 1),
    ([FAILS], 4, None, False, 4),  # none passes: every one of answer_samples is booked
    ([FAILS], 8, 5, False, 3),  # the cap (2 for the step + 3) funds only 3
    ([FAILS, FAILS, PASSES], 8, 4, False, 2),  # the passing one would cross the cap: never drawn
])
def test_every_sampled_answer_is_counted_and_paid_for(replies, answer_samples, cap, verified, samples):
    budget = Budget(max_queries=cap)
    env = env_answering(replies, answer_samples, budget)
    _, rewards, dones = env.step(["deepen"])  # max_steps 1: this step ends the episode
    e, entry = env.episodes[0], env.episodes[0].history[0]
    assert entry["accepted"] and dones == [True]
    assert entry["verified"] is verified and entry["samples"] == samples and entry["queries"] == 2 + samples
    assert rewards[0] == pytest.approx(entry["score"] + 0.5 * verified - 0.1 * (2 + samples)) == entry["reward"]
    assert budget.queries == 2 + samples and budget.reserved == 0
    assert cap is None or budget.queries <= cap
    assert responder_calls(env) == samples and (e.verified, e.samples) == (verified, samples)
    assert episode_stops([["deepen", STOP]], env.episodes, 2)[1]["verified_yield"] == float(verified)


def test_a_repaired_answer_is_credited_as_the_main_job_keeps_it():
    env = env_answering([FAILS], 8, repair="on")
    _, rewards, _ = env.step(["deepen"])
    entry = env.episodes[0].history[0]
    # the first answer, lowercased by the registry's repair, verifies: sampling ends there
    assert entry["verified"] is True and entry["samples"] == 1 and responder_calls(env) == 1
    assert rewards[0] == pytest.approx(entry["score"] + 0.5 - 0.1 * 3)


@pytest.mark.parametrize("ending", ["stop", "max_steps", "budget"])
def test_the_terminal_credit_lands_on_the_last_transition_only(ending):
    # two steps of deepen (the second only where max_steps allows it); then STOP, or the budget ends it
    max_steps = 2 if ending != "max_steps" else 1
    cap = 2 + 1 if ending == "budget" else None  # the first step, then one answer: no second step
    env = env_answering([PASSES], max_steps=max_steps, budget=Budget(max_queries=cap))
    _, first, dones = env.step(["deepen"])
    entry = env.episodes[0].history[0]
    if ending == "max_steps":
        assert dones == [True] and first[0] == pytest.approx(entry["score"] + 0.5 - 0.1 * 3)
    else:
        assert dones == [False] and first[0] == pytest.approx(entry["score"] - 0.2)  # no answer yet
        assert not entry["verified"] and entry["samples"] == 0 and responder_calls(env) == 0
        _, last, dones = env.step([STOP if ending == "stop" else "deepen"])
        assert dones == [True] and last[0] == pytest.approx(0.5 - 0.1 * 1)  # the credit and its one sample
        assert len(env.episodes[0].history) == 1 and env.exhausted is (ending == "budget")
    assert responder_calls(env) == 1 and env.episodes[0].verified and env.episodes[0].samples == 1  # one answer


@pytest.mark.parametrize("path", ["stop_at_once", "eliminated"])
def test_a_path_that_evolved_nothing_earns_no_credit_but_pays_its_answers(path):
    env = env_answering([PASSES], expert=unchanged)
    _, rewards, dones = env.step([STOP if path == "stop_at_once" else "deepen"])
    e = env.episodes[0]
    assert dones == [True] and e.verified and e.samples == 1 and not e.evolved  # answered, verified, not evolved
    if path == "stop_at_once":
        assert rewards[0] == pytest.approx(-0.1) and env.budget.queries == 1
    else:
        entry = e.history[0]
        assert not entry["accepted"] and not entry["verified"] and entry["samples"] == 1 and entry["queries"] == 2
        assert rewards[0] == pytest.approx(-0.2) == entry["reward"] and env.budget.queries == 2


@pytest.mark.parametrize("before, cap, samples", [
    (0, 1, 1),  # not even the first step: the seed answered (one call left for it)
    (1, 2, 0),  # the first step spent all: no answer
    (1, 3, 1),  # one call left: one answer
    (2, 5, 1),
])
def test_an_episode_the_budget_ends_is_answered_only_when_one_call_is_funded(before, cap, samples):
    budget = Budget(max_queries=cap)
    env = env_answering([PASSES], max_steps=3, budget=budget)
    for _ in range(before):
        env.step(["deepen"])  # 2 queries each
    _, rewards, dones = env.step(["deepen"])  # cannot be funded: the episode ends here
    e = env.episodes[0]
    assert dones == [True] and env.exhausted and len(e.history) == before
    assert e.samples == responder_calls(env) == samples and e.verified is bool(samples)
    assert rewards[0] == pytest.approx(0.5 * (samples > 0 and before > 0) - 0.1 * samples)
    assert budget.queries == 2 * before + samples <= cap and budget.reserved == 0


@pytest.mark.parametrize("cap", [None, 1, 2, 3, 4, 5, 7, 9, 12, 16])
def test_the_ledger_never_crosses_its_cap_and_every_query_is_in_a_reward(cap):
    budget = Budget(max_queries=cap)
    env = env_answering([FAILS, PASSES], answer_samples=3, budget=budget, max_steps=2, n_envs=3)
    draw, total = random.Random(cap), 0.0
    for _ in range(3):
        env.reset()
        for e in env.episodes:
            e.inherited = [LOWERCASE]
        done = [False] * 3
        while not all(done):
            _, rewards, done = env.step([draw.choice([*OPERATIONS, STOP]) for _ in done])
            total += sum(rewards)
            assert cap is None or budget.queries <= cap
        scores = sum(h["score"] for e in env.episodes for h in e.history)
        credited = sum(e.verified and e.evolved for e in env.episodes)
        total -= scores + 0.5 * credited
    assert budget.reserved == 0
    assert total == pytest.approx(-0.1 * budget.queries, abs=1e-3)  # each query charged once, on some transition


def test_no_answer_is_made_when_verification_is_not_rewarded():
    env = env_answering([PASSES], weights=RewardWeights(verify=0.0, novelty=0.0, query_cost=0.1))
    _, rewards, _ = env.step(["deepen"])
    assert responder_calls(env) == 0 and env.budget.queries == 2 and env.episodes[0].samples == 0
    assert rewards[0] == pytest.approx(env.episodes[0].history[0]["score"] - 0.2)


def test_respond_and_the_environment_answer_through_one_function(monkeypatch):
    # the graph's respond on a seed and the environment's STOP on the same seed: the same call, the same answer
    answered, real = [], steps.final_answer

    def spy(ctx, *args, **kwargs):
        answered.append((ctx, real(ctx, *args, **kwargs)))
        return answered[-1][1]

    monkeypatch.setattr(steps, "final_answer", spy)
    settings = {"constraints_per_instruction": 3, "answer_samples": 4, "sample_batch": 2}
    graph_ctx = Context(max_steps=0, **settings)  # straight to respond
    from teamsrl_graph.evolve.resources import bind

    bind(graph_ctx, models=scripted_models([FAILS, PASSES]), budget=Budget())
    record = build_graph().invoke({"seed": "Explain tides."}, context=graph_ctx)
    env = EvolutionEnv(Context(max_steps=2, **settings), [Seed("Explain tides.")], n_envs=1,
                       models=scripted_models([FAILS, PASSES]), weights=WEIGHTS)
    env.reset()
    env.step([STOP])
    assert [ctx for ctx, _ in answered] == [graph_ctx, env.context]
    by_graph, by_env = answered[0][1], answered[1][1]
    assert by_env == by_graph and 1 <= len(by_env.constraints) <= 3  # drawn under constraints_per_instruction
    assert (record["instruction"], record["constraints"], record["samples"]) == (by_graph.instruction,
                                                                                 by_graph.constraints, by_graph.samples)
    assert env.episodes[0].verified is by_env.verified and env.episodes[0].samples == by_env.samples
    for ctx in (graph_ctx, env.context):  # each run's type draw learned from the answers it verified
        assert set(resources(ctx).draw.state()["types"]) == {c["id"] for c in by_env.constraints}


def test_reward_terms_measures_every_operation_with_its_terminal_credit(monkeypatch):
    # benchmarks/reward_terms.py's loop and accounting on scripted models: the per-step mean rewards it
    # chooses the weights by, times the steps, plus STOP's, add up to every reward the environment paid
    from teamsrl_graph.commands.pipeline import ANSWERING

    bench = script("reward_terms")
    monkeypatch.setattr(steps, "draw_constraint", lambda *args, **kwargs: LOWERCASE)  # PASSES meets it
    weights = RewardWeights(verify=0.7, novelty=0.0, query_cost=0.1)
    fruitless = lambda prompt: (unchanged if "fruits" in prompt else evolving)(prompt)  # some paths evolve nothing
    seeds = [Seed(s) for s in ("Explain tides.", "Describe a volcano.", "List three fruits.")]
    env = EvolutionEnv(Context(max_steps=2, **ANSWERING), seeds, n_envs=4, models=scripted_models([FAILS, PASSES, PASSES], fruitless),
                       weights=weights, budget=Budget(max_queries=2000))
    paid, step = [], env.step
    env.step = lambda actions: (lambda out: paid.append(sum(out[1])) or out)(step(actions))
    finished = bench.run_episodes(env, 3, random.Random(0))
    env.close()
    terms, stop = bench.measure(finished)
    assert all(terms[op]["n"] >= 3 for op in OPERATIONS) and not env.exhausted
    assert sum(t["ended"] for t in terms.values()) + stop["episodes"] == len(finished)
    assert stop["episodes"] and stop["samples"] >= 1 and 0 < sum(t["verified"] for t in terms.values())
    for op, t in terms.items():  # each operation's steps were paid what its mean reward says, credit included
        paid_to = sum(h["reward"] for e, _ in finished for h in e.history if h["op"] == op)
        assert bench.mean_reward(t, weights) * t["n"] == pytest.approx(paid_to, abs=1e-2), op
    total = sum(bench.mean_reward(t, weights) * t["n"] for t in terms.values())
    total += stop["episodes"] * -0.1 * stop["samples"]  # a seed answered earns no credit
    assert total == pytest.approx(sum(paid), abs=1e-2)
    v, n, spread, per_episode = bench.choose(terms, stop, len(finished), 0.1)
    assert v in bench.GRID and n in bench.GRID and spread >= 0
    spent = sum(h["queries"] for e, _ in finished for h in e.history) + sum(e.samples for e, first in finished if first == STOP)
    assert per_episode == pytest.approx(spent / len(finished))
    price = 0.1 * spent / len(finished)
    assert price - 1e-9 <= v < price + 0.1  # the break-even credit, on the grid


@pytest.mark.parametrize("samples, verify", [(1.0, 0.3), (3.6, 0.6), (3.0, 0.5), (13.0, 1.0)])
def test_reward_terms_verify_weight_is_the_break_even_credit(samples, verify):
    # two operations of 1 step of 2 queries each, each ending its own episode with `samples` answers,
    # and no STOP: a mean episode spends 2 + samples queries at 0.1; the weight is the grid's first
    # value at or above that price (capped at 1)
    bench = script("reward_terms")
    term = {"n": 1, "score": 0.5, "novelty": 0.1, "queries": 2.0, "ended": 1, "verified": 0.5, "samples": samples}
    terms, stop = {"deepen": dict(term), "breadth": dict(term, score=0.2, novelty=0.4)}, {"episodes": 0, "verified": 0.0, "samples": 0.0}
    v, n, spread, per_episode = bench.choose(terms, stop, 2, 0.1)
    assert (v, per_episode) == (verify, pytest.approx(2 + samples))
    assert (n, spread) == (1.0, pytest.approx(0.0))  # novelty 0.3 more makes up breadth's 0.3 less score
