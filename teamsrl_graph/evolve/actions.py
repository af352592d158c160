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
FAMILY_OP = "add_constraints"  # the operation a router may name a constraint family for: "add_constraints:keywords"


def split_action(action: str) -> tuple[str, str | None]:
    """(operation or STOP, constraint family or None) of a router's decision. A router may return
    "add_constraints:FAMILY" to have add_constraints draw from that family (its id prefix, as in
    "keywords"); every other action, and add_constraints alone, names no family."""
    op, _, family = action.partition(":")
    if family and op != FAMILY_OP:
        raise ValueError(f"only {FAMILY_OP} takes a constraint family, not {action!r}")
    return op, family or None


def join_action(op: str, family: str | None) -> str:
    """The decision `split_action` reads back: "add_constraints:keywords", or `op` without a family."""
    return f"{op}:{family}" if family else op


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
    def __call__(self, observation: Observation) -> str: ...  # one of ACTIONS, or "add_constraints:FAMILY"
