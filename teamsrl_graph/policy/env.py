"""The training environment: E seed instructions evolved side by side, one graph step at a time.

An episode is one instruction's evolution. `reset()` starts E episodes on the next E seeds (the
seeds are shuffled once under the run seed, then cycled); `step(actions)` applies every chosen
operation at once - rewrite then review, through `steps.rewrite` / `steps.review`, the very functions
the graph's nodes call - in E threads, so a local model batches the E calls. STOP ends an episode
with reward 0; so does reaching `max_steps`.

Reward of an evolution step: the reviewer's score (0 when eliminated, 0.5-1 when kept) minus
`query_cost` per LLM query it used (2, or 1 when the free checks eliminated it without the
reviewer). STOP is therefore optimal exactly where the expected score of every operation is below
the cost of its queries. Every query is booked in `budget`; when it cannot fund a step the episode
ends there (as if the policy had stopped) and `exhausted` turns true.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .. import steps
from ..actions import CALLS_PER_EVOLUTION, STOP, Observation
from ..budget import Budget
from ..constraints import verify
from ..context import Context
from ..resources import Resources, bind
from ..seeds import Seed


@dataclass
class Episode:
    seed: Seed
    index: int  # episode number in the run
    instruction: str = ""
    history: list = field(default_factory=list)
    done: bool = False

    @property
    def constraints(self) -> list[dict]:
        """The verifiable constraints its accepted add_constraints steps drew."""
        return [h["constraint"] for h in self.history if h["accepted"] and h.get("constraint")]


class EvolutionEnv:
    def __init__(self, context: Context, seeds: list[Seed], n_envs: int = 8, query_cost: float = 0.1,
                 budget: Budget | None = None, seed: int = 0, models=None, verify_weight: float = 0.0):
        """Episodes run under `context`'s settings (its `max_steps` is the episode length) with the
        `models` given or those the context names; `budget` is the ledger they are booked in. With
        `verify_weight` > 0, an accepted evolution whose instruction carries constraints is answered
        once more (one booked call) and earns `verify_weight` when that answer meets them all."""
        self.context, self.verify_weight = context, verify_weight
        self.resources: Resources = bind(context, models=models, budget=budget or Budget())
        self.budget = self.resources.budget
        self.seeds, self.n_envs, self.max_steps, self.query_cost = list(seeds), n_envs, context.max_steps, query_cost
        self.order = list(range(len(self.seeds)))
        random.Random(seed).shuffle(self.order)
        self.cursor = 0  # episodes started so far
        self.exhausted = False
        self.episodes: list[Episode] = []
        self.pool = ThreadPoolExecutor(max_workers=n_envs, thread_name_prefix="env")

    def state_dict(self) -> dict:
        return {"cursor": self.cursor}

    def load_state_dict(self, state: dict):
        self.cursor = int(state["cursor"])

    def observe(self, e: Episode) -> Observation:
        return Observation(instruction=e.instruction, seed=e.seed.instruction, step=len(e.history),
                           max_steps=self.max_steps, history=list(e.history),
                           budget_left=self.budget.remaining_fraction, index=e.index)

    def reset(self) -> list[Observation]:
        self.episodes = []
        for _ in range(self.n_envs):
            seed = self.seeds[self.order[self.cursor % len(self.seeds)]]
            self.episodes.append(Episode(seed, self.cursor, seed.instruction))
            self.cursor += 1
        return [self.observe(e) for e in self.episodes]

    def _evolve(self, e: Episode, op: str) -> float:
        """One rewrite + review of episode `e` (budget already reserved); returns its reward."""
        kept = e.constraints
        pending = steps.propose(self.context, op, e.instruction, kept, e.index, len(e.history), e.seed.input)
        verdict, review_queries = steps.review(self.context, e.instruction, pending["candidate"], op)
        e.history.append({"op": op, "accepted": verdict.accepted, "reason": verdict.reason, "score": verdict.score,
                          "constraint": pending["constraint"]})
        reward = verdict.score - self.query_cost * (1 + review_queries)
        if verdict.accepted:
            e.instruction = steps.restate(pending["candidate"], kept)
            if self.verify_weight > 0 and e.constraints and self.budget.reserve(1):
                answer, failure = steps.answer(self.context, e.instruction, e.seed.input)
                passed = failure is None and verify(answer, e.constraints)["strict"]
                e.history[-1]["verified"] = passed
                reward += self.verify_weight * passed - self.query_cost
        return reward

    def step(self, actions: list[str]) -> tuple[list[Observation], list[float], list[bool]]:
        """Apply `actions` (one per episode; ignored for finished ones); returns (observations, rewards, dones)."""
        rewards = [0.0] * len(self.episodes)
        jobs = {}
        for i, (e, action) in enumerate(zip(self.episodes, actions)):
            if e.done:
                continue
            if action == STOP:
                e.done = True
            elif not self.budget.reserve(CALLS_PER_EVOLUTION):
                e.done = self.exhausted = True
            else:
                jobs[i] = self.pool.submit(self._evolve, e, action)
        for i, job in jobs.items():
            rewards[i] = job.result()
            self.episodes[i].done = len(self.episodes[i].history) >= self.max_steps
        return [self.observe(e) for e in self.episodes], rewards, [e.done for e in self.episodes]

    def close(self):
        """Stop the worker threads (idempotent); the environment cannot step afterwards."""
        self.pool.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
