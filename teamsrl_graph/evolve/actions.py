"""The vocabulary every router shares: the operations, STOP, what a router sees, and what it is.

This is a leaf module: the graph, the concrete routers (`routers.py`) and the learned policy
(`policy/`) all import these names from here, and it imports nothing of the package. It defines no
router; see `routers.py` for those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

OPERATIONS = ("add_constraints", "deepen", "concretize", "increase_reasoning", "complicate_input", "breadth")
STOP = "stop"
ACTIONS = (*OPERATIONS, STOP)
CALLS_PER_EVOLUTION = 2  # an evolution step is one expert rewrite + one reviewer call, reserved together


@dataclass
class Observation:
    instruction: str  # the current (last accepted) instruction
    seed: str  # the instruction the episode started from
    step: int  # evolution steps taken so far
    max_steps: int  # depth limit of the episode
    history: list = field(default_factory=list)  # [{"op", "accepted", "reason", "score"}, ...] so far
    budget_left: float | None = None  # share of the run's query cap still free; None without a cap
    index: int = 0  # position of the instruction in the run, for reproducible randomness


class Router(Protocol):
    def __call__(self, observation: Observation) -> str: ...
