"""The environment's verification reward: the main job's adaptive sampler, every sample booked and paid for."""

import itertools
import re
import threading

import pytest

from conftest import ScriptedChat, task_of
from teamsrl_graph.dataio.seeds import Seed
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.models.factory import Models
from teamsrl_graph.policy.env import EvolutionEnv
from teamsrl_graph.evolve.actions import STOP
from teamsrl_graph.policy.reward import RewardWeights
from teamsrl_graph.policy.train import episode_stops
from teamsrl_graph.running.budget import Budget

LOWERCASE = {"id": "change_case:english_lowercase", "kwargs": {}}
FAILS = "Tides Rise Twice A Day Because The Moon Pulls The Oceans."  # usable, not all lowercase
PASSES = "tides rise twice a day because the moon pulls the oceans."
WEIGHTS = RewardWeights(verify=0.5, novelty=0.0, query_cost=0.1)


def env_answering(replies: list[str], answer_samples: int, budget: Budget | None = None) -> EvolutionEnv:
    """One episode on an instruction that carries LOWERCASE; deepen keeps it; the responder gives `replies`
    in order (the last one again after them)."""
    lock, counter = threading.Lock(), itertools.count()

    def responder(prompt):
        with lock:
            return replies[min(next(counter), len(replies) - 1)]

    def expert(prompt):
        return f"{task_of(prompt)} Explain why, step by step, with one example."

    models = Models(expert=ScriptedChat(reply=expert), reviewer=ScriptedChat(reply=lambda p: "Yes"),
                    responder=ScriptedChat(reply=responder))
    env = EvolutionEnv(Context(max_steps=1, answer_samples=answer_samples), [Seed("Explain tides.")], n_envs=1,
                       models=models, weights=WEIGHTS, budget=budget)
    env.reset()
    env.episodes[0].inherited = [LOWERCASE]
    return env


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
    _, rewards, _ = env.step(["deepen"])
    entry = env.episodes[0].history[0]
    assert entry["accepted"] and re.search(r"lowercase", env.episodes[0].instruction, re.I)
    assert entry["verified"] is verified and entry["queries"] == 2 + samples
    assert rewards[0] == pytest.approx(entry["score"] + 0.5 * verified - 0.1 * (2 + samples))
    assert budget.queries == 2 + samples and budget.reserved == 0
    assert cap is None or budget.queries <= cap
    assert len(env.resources.models.responder.calls) == samples
    assert env.episodes[0].verified is verified  # what the STOP table counts as the path's yield
    assert episode_stops([["deepen", STOP]], env.episodes, 2)[1]["verified_yield"] == float(verified)
