"""Routers: who decides the next evolution operation (or STOP) for an instruction.

A router is any callable `Observation -> str` returning one of `ACTIONS` (the shared names live in
`actions.py`). The graph never knows which one it runs:

- `RandomRouter`: uniform over the six operations until max depth (WizardLM's Evol-Instruct).
- `FixedRouter`: a fixed schedule (the TeaMs-RL release forces breadth at steps 1 and 4).
- `policy`: the learned PyTorch policy (`teamsrl_graph/policy/`), trained with TRPO.

Randomness is derived from (run seed, instruction index, step), so a run is reproducible whatever
order its branches happen to execute in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from .actions import OPERATIONS, STOP, Observation, Router
from .errors import InputError


@dataclass
class RandomRouter:
    seed: int = 0  # run seed

    def __call__(self, obs: Observation) -> str:
        return random.Random(f"{self.seed}:{obs.index}:{obs.step}").choice(OPERATIONS)


@dataclass
class FixedRouter:
    schedule: tuple = ("breadth", "add_constraints", "deepen", "breadth", "concretize", "increase_reasoning")

    def __call__(self, obs: Observation) -> str:
        return self.schedule[obs.step] if obs.step < len(self.schedule) else STOP


def _learned(seed: int = 0, policy: str | None = None) -> Router:
    from .policy.router import PolicyRouter  # torch and MiniLM load only when this router is used

    return PolicyRouter(policy, seed=seed)


# name -> factory(seed, policy_path)
ROUTERS: dict[str, Callable[..., Router]] = {
    "random": lambda seed=0, policy=None: RandomRouter(seed),
    "fixed": lambda seed=0, policy=None: FixedRouter(),
    "policy": _learned,
}


def make_router(name: str, seed: int = 0, policy: str | None = None) -> Router:
    if name not in ROUTERS:
        raise InputError(f"unknown router {name!r}; choose one of {sorted(ROUTERS)}", field="router")
    return ROUTERS[name](seed=seed, policy=policy)
