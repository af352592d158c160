"""The training environment: E instructions evolved side by side, one graph step at a time.

An episode is one instruction's evolution. `reset()` starts E episodes: on the next seeds (shuffled
once under the run seed, then cycled) and, every `evolved_every`-th episode, on an instruction an
earlier episode evolved (with the constraints it carries), so training sees the deeper, longer
instructions the router meets in a run. `reset(seeds)` starts episodes on given seeds instead
(validation) without touching that order or what the run has kept. `step(actions)` applies every
chosen operation at once - rewrite then review, through `steps.propose` / `steps.review`, the
functions the graph's nodes call - in E threads, so a local model batches the E calls. STOP ends an
episode with reward 0; so does reaching `max_steps`.

The reward of an evolution step is `reward.step_reward`: the reviewer's score, plus `verify` when
the kept instruction carries constraints and the main job's adaptive sampler (`steps.checked_answer`:
answers drawn until one meets them all, up to `answer_samples`, each one booked) ends with a
verified answer, plus `novelty` times its distance from the nearest instruction the run has kept
(seeds and accepted evolutions, `novelty.py`), minus `query_cost` per LLM query - rewrite, review
and every answer sampled. STOP is therefore optimal exactly where
the expected reward of every operation is below zero. Each step's terms are kept in its history
entry. Every query is booked in `budget`; when it cannot fund a step the episode ends there (as if
the policy had stopped) and `exhausted` turns true.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..evolve import steps
from ..evolve.actions import CALLS_PER_EVOLUTION, STOP, Observation, split_action
from ..running.budget import Budget
from ..evolve.context import Context
from ..evolve.resources import Resources, bind
from ..dataio.seeds import Seed
from .novelty import Novelty
from .reward import RewardWeights, step_reward

VALIDATION_INDEX = 1_000_000  # episode numbers of validation episodes start here (fixed draws each time)


@dataclass
class Episode:
    seed: Seed
    index: int  # episode number in the run
    instruction: str = ""
    history: list = field(default_factory=list)
    done: bool = False
    inherited: list = field(default_factory=list)  # constraints of an evolved instruction it started from

    @property
    def constraints(self) -> list[dict]:
        """The verifiable constraints it carries: inherited, then drawn by its accepted add_constraints steps."""
        return self.inherited + [h["constraint"] for h in self.history if h["accepted"] and h.get("constraint")]

    @property
    def verified(self) -> bool:
        """Whether its current instruction got a verified answer: that of the last step it kept."""
        kept = [h for h in self.history if h["accepted"]]
        return bool(kept and kept[-1]["verified"])


class EvolutionEnv:
    def __init__(self, context: Context, seeds: list[Seed], n_envs: int = 8, weights: RewardWeights | None = None,
                 budget: Budget | None = None, seed: int = 0, models=None, embedder=None, evolved_every: int = 0):
        """Episodes run under `context`'s settings (its `max_steps` is the episode length) with the
        `models` given or those the context names; `budget` is the ledger they are booked in;
        `embedder` (MiniLM by default) measures novelty when `weights.novelty` > 0."""
        self.context, self.weights = context, weights or RewardWeights()
        self.resources: Resources = bind(context, models=models, budget=budget or Budget())
        self.budget = self.resources.budget
        self.seeds, self.n_envs, self.max_steps = list(seeds), n_envs, context.max_steps
        self.order = list(range(len(self.seeds)))
        random.Random(seed).shuffle(self.order)
        self.cursor, self.started = 0, 0  # seeds used so far, training episodes started so far
        self.evolved_every = evolved_every
        self.evolved: list[tuple[Seed, list]] = []  # evolved instructions waiting to start an episode
        self.novelty = None
        if self.weights.novelty > 0:
            from ..common.embeddings import default_embedder

            self.novelty = Novelty(embedder or default_embedder())
        self.exhausted = False
        self.episodes: list[Episode] = []
        self.keeping = True  # training episodes add what they keep to the novelty reference; validation does not
        self.pool = ThreadPoolExecutor(max_workers=n_envs, thread_name_prefix="env")

    def state_dict(self) -> dict:
        return {"cursor": self.cursor, "started": self.started,
                "evolved": [[s.instruction, s.input, c] for s, c in self.evolved]}

    def load_state_dict(self, state: dict):
        self.cursor, self.started = int(state["cursor"]), int(state.get("started", state["cursor"]))
        self.evolved = [(Seed(i, x), c) for i, x, c in state.get("evolved", [])]

    def observe(self, e: Episode) -> Observation:
        return Observation(instruction=e.instruction, seed=e.seed.instruction, step=len(e.history),
                           max_steps=self.max_steps, history=list(e.history),
                           budget_left=self.budget.remaining_fraction, index=e.index)

    def _harvest(self):
        """Queue the instructions the finished training episodes evolved, as starts of later episodes."""
        if self.evolved_every and self.keeping:
            for e in self.episodes:
                if any(h["accepted"] for h in e.history):
                    self.evolved.append((Seed(e.instruction, e.seed.input), e.constraints))

    def reset(self, seeds: list[Seed] | None = None) -> list[Observation]:
        self._harvest()
        self.keeping = seeds is None
        self.episodes = []
        if seeds is not None:
            self.episodes = [Episode(s, VALIDATION_INDEX + i, s.instruction) for i, s in enumerate(seeds)]
        for _ in range(self.n_envs if seeds is None else 0):
            self.started += 1
            if self.evolved_every and self.started % self.evolved_every == 0 and self.evolved:
                seed, inherited = self.evolved.pop(0)
                self.episodes.append(Episode(seed, self.started - 1, seed.instruction, inherited=list(inherited)))
                continue
            seed = self.seeds[self.order[self.cursor % len(self.seeds)]]
            self.cursor += 1
            self.episodes.append(Episode(seed, self.started - 1, seed.instruction))
            if self.novelty is not None:
                self.novelty.keep(seed.instruction)
        return [self.observe(e) for e in self.episodes]

    def _evolve(self, e: Episode, action: str) -> float:
        """One rewrite + review of episode `e` (budget already reserved); returns its reward."""
        kept, (op, family) = e.constraints, split_action(action)
        pending = steps.propose(self.context, op, e.instruction, kept, e.index, len(e.history), e.seed.input, family)
        verdict, review_queries = steps.review(self.context, e.instruction, pending["candidate"], op)
        entry = {"op": op, "family": family, "accepted": verdict.accepted, "reason": verdict.reason,
                 "score": verdict.score, "constraint": pending["constraint"], "verified": False, "novelty": 0.0,
                 "queries": 1 + review_queries}
        e.history.append(entry)
        if verdict.accepted:
            e.instruction = steps.restate(pending["candidate"], kept)
            if self.novelty is not None:
                entry["novelty"] = round(self.novelty.of(e.instruction), 4)
                if self.keeping:
                    self.novelty.keep(e.instruction)
            if self.weights.verify > 0 and e.constraints and self.budget.reserve(1):
                _, failure, verification, samples = steps.checked_answer(self.context, e.instruction, e.constraints,
                                                                        e.seed.input)
                entry["verified"] = failure is None and bool(verification and verification["strict"])
                entry["queries"] += samples
        entry["reward"] = round(step_reward(verdict.score, entry["verified"], entry["novelty"], entry["queries"],
                                            self.weights), 4)
        return entry["reward"]

    def step(self, actions: list[str]) -> tuple[list[Observation], list[float], list[bool]]:
        """Apply `actions` (one per episode, "add_constraints:FAMILY" naming a constraint family; ignored for
        finished ones); returns (observations, rewards, dones)."""
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
