"""The training environment: E instructions evolved side by side, one graph step at a time.

An episode is one instruction's evolution. `reset()` starts E episodes: on the next seeds (shuffled
once under the run seed, then cycled) and, every `evolved_every`-th episode, on an instruction an
earlier episode evolved (with the constraints it carries), so training sees the deeper, longer
instructions the router meets in a run. `reset(seeds)` starts episodes on given seeds instead
(validation) without touching that order or what the run has kept. `step(actions)` applies every
chosen operation at once - rewrite then review, through `steps.propose` / `steps.review`, the
functions the graph's nodes call - in E threads, so a local model batches the E calls.

An evolution step earns `reward.step_reward` of its terms: the reviewer's score, plus `novelty`
times its distance from the nearest instruction the run has kept (seeds and accepted evolutions,
`novelty.py`), minus `query_cost` per LLM query (rewrite and review). An episode ends when the
router picks STOP, at `max_steps`, or when the budget cannot fund the next step (then `exhausted`
turns true). Its final instruction is then answered once, as the main job answers every record
(`steps.final_answer`, the function the graph's `respond` node calls: the constraints it lacks
added under the context's `constraints_per_instruction` and the run's type draw, then answers
sampled until one meets them all, up to `answer_samples`), when `weights.verify` > 0 and the budget
funds at least the first answer. That terminal credit, `verify` when the answer is verified and the
episode kept at least one evolution (a path that evolved nothing is a seed answered, not evolved
data), minus `query_cost` per answer sampled (charged either way), is added to the episode's last
transition: the STOP action's reward, the last evolution step's, or the action the budget could
not fund. STOP is therefore right exactly where no operation is expected to pay more than answering
now. Each evolution step's terms are kept in its history entry; on the step that ended the episode
they include the answer (`verified` as credited, `samples`, also counted in `queries`). Each episode
keeps `verified` (its answer met its constraints, credited or not) and `samples`. Every query is booked in `budget`,
whose cap is never crossed.
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
from ..running.calls import StepFailed
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

    verified: bool = False  # its final instruction got an answer meeting every constraint it carries
    samples: int = 0  # answers drawn for its final instruction (0: not answered)

    @property
    def evolved(self) -> bool:
        """Whether it kept at least one evolution: only then is its answer evolved data."""
        return any(h["accepted"] for h in self.history)


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
        """One rewrite + review of episode `e` (budget already reserved), then its answer when the step
        ends the episode (`max_steps`); returns its reward."""
        kept, (op, family) = e.constraints, split_action(action)
        pending = steps.propose(self.context, op, e.instruction, kept, e.index, len(e.history), e.seed.input, family)
        verdict, review_queries = steps.review(self.context, e.instruction, pending["candidate"], op)
        entry = {"op": op, "family": family, "accepted": verdict.accepted, "reason": verdict.reason,
                 "score": verdict.score, "constraint": pending["constraint"], "verified": False, "novelty": 0.0,
                 "queries": 1 + review_queries, "samples": 0}
        e.history.append(entry)
        if verdict.accepted:
            e.instruction = steps.restate(pending["candidate"], kept)
            if self.novelty is not None:
                entry["novelty"] = round(self.novelty.of(e.instruction), 4)
                if self.keeping:
                    self.novelty.keep(e.instruction)
        if len(e.history) >= self.max_steps:
            e.done = True
            entry["verified"], entry["samples"] = self._answer(e, self._fund_answer())
            entry["queries"] += entry["samples"]
        entry["reward"] = round(step_reward(verdict.score, entry["verified"], entry["novelty"], entry["queries"],
                                            self.weights), 4)
        return entry["reward"]

    def _fund_answer(self) -> bool:
        """Reserve the first answer of a finished episode, as the graph reserves each record's answer; False
        when answers are not rewarded (`weights.verify` 0) or the budget cannot fund one."""
        return self.weights.verify > 0 and self.budget.reserve(1)

    def _answer(self, e: Episode, funded: bool) -> tuple[bool, int]:
        """Answer the final instruction of finished episode `e` as the main job does (`steps.final_answer`;
        `funded`: its first call is reserved, none is made otherwise); returns (credited, samples):
        credited when verified and `e` kept an evolution. Sets `e.verified` and `e.samples`."""
        if not funded:
            return False, 0
        try:
            final = steps.final_answer(self.context, e.instruction, e.constraints, e.index, e.seed.input)
            e.verified, e.samples = final.verified, final.samples
        except StepFailed as failure:  # booked, not verified (the graph records a failed record)
            e.verified, e.samples = False, failure.attempts
        return e.verified and e.evolved, e.samples

    def _finish(self, e: Episode, funded: bool) -> float:
        """End episode `e` without an evolution step (STOP, or a step the budget cannot fund); returns
        the reward of that last transition: the answer's credit and cost."""
        verified, samples = self._answer(e, funded)
        return round(step_reward(0.0, verified, 0.0, samples, self.weights), 4)

    def step(self, actions: list[str]) -> tuple[list[Observation], list[float], list[bool]]:
        """Apply `actions` (one per episode, "add_constraints:FAMILY" naming a constraint family; ignored for
        finished ones); returns (observations, rewards, dones). Budget is reserved in episode order
        before any call is made: an evolution's two calls, or a finishing episode's first answer."""
        rewards = [0.0] * len(self.episodes)
        work = {}
        for i, (e, action) in enumerate(zip(self.episodes, actions)):
            if e.done:
                continue
            if action != STOP and self.budget.reserve(CALLS_PER_EVOLUTION):
                work[i] = (self._evolve, e, action)
                continue
            if action != STOP:
                self.exhausted = True
            e.done = True
            work[i] = (self._finish, e, self._fund_answer())
        jobs = {i: self.pool.submit(*job) for i, job in work.items()}
        for i, job in jobs.items():
            rewards[i] = job.result()
        return [self.observe(e) for e in self.episodes], rewards, [e.done for e in self.episodes]

    def close(self):
        """Stop the worker threads (idempotent); the environment cannot step afterwards."""
        self.pool.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
