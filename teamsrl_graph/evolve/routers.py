"""Routers: who decides the next evolution operation (or STOP) for an instruction.

A router is any callable `Observation -> str` returning one of `ACTIONS` (the shared names live in
`actions.py`). The graph never knows which one it runs:

- `RandomRouter`: uniform over the six operations until max depth (WizardLM's Evol-Instruct).
- `FixedRouter`: a fixed schedule (the TeaMs-RL release forces breadth at steps 1 and 4).
- `policy`: the learned PyTorch policy (`teamsrl_graph/policy/`), trained with TRPO; it samples its
  action by default (`routing="greedy"` takes the most likely one). With add_constraints it leaves
  the constraint type to the run's type draw, as the other routers do (`families="draw"`, the
  default), or names a family from its family head (`families="policy"`).

Randomness is derived from (run seed, instruction index, step), so a run is reproducible whatever
order its branches happen to execute in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from .actions import OPERATIONS, STOP, Observation, Router
from ..common.errors import InputError


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


ROUTING = ("sample", "greedy")  # how the learned router turns its probabilities into an action
FAMILY_CHOICES = ("draw", "policy")  # who picks the learned router's constraint family: the type draw, or its family head


def check_families(value: str, field: str = "families") -> str:
    """`value` if it is one of FAMILY_CHOICES, else an InputError naming `field`."""
    if value not in FAMILY_CHOICES:
        raise InputError(f"unknown choice {value!r}; expected one of {', '.join(FAMILY_CHOICES)}", field=field)
    return value


def _learned(seed: int = 0, policy: str | None = None, routing: str = "sample", families: str = "draw") -> Router:
    from ..policy.router import PolicyRouter  # torch and MiniLM load only when this router is used

    return PolicyRouter(policy, seed=seed, greedy=routing == "greedy", families=families == "policy")


# name -> factory(seed, policy_path, routing, families)
ROUTERS: dict[str, Callable[..., Router]] = {
    "random": lambda seed=0, policy=None, routing="sample", families="draw": RandomRouter(seed),
    "fixed": lambda seed=0, policy=None, routing="sample", families="draw": FixedRouter(),
    "policy": _learned,
}


def make_router(name: str, seed: int = 0, policy: str | None = None, routing: str = "sample",
                families: str = "draw") -> Router:
    if name not in ROUTERS:
        raise InputError(f"unknown router {name!r}; choose one of {sorted(ROUTERS)}", field="router")
    if routing not in ROUTING:
        raise InputError(f"unknown routing {routing!r}; choose one of {list(ROUTING)}", field="routing")
    check_families(families)
    return ROUTERS[name](seed=seed, policy=policy, routing=routing, families=families)
