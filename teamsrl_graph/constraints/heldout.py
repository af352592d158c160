"""Instruction sets worded for a split: held-out evaluation items and training instructions.

`heldout_instructions` draws constraints uniformly and words them with held-out phrasings only, so
an evaluation on it measures whether a model follows requirements it was never shown in these words
(with `split="train"` it words them in training phrasings: a validation set for choosing settings
that leaves the held-out wordings untouched). Training data goes through `training_instruction`
(training phrasings only). Neither answers nor
verifies anything.
"""

from __future__ import annotations

import random

from .compose import compose
from .registry import sample_constraints

MAX_CONSTRAINTS = 3  # constraints per held-out item: 1 to this many


def heldout_instructions(tasks: list[str], n: int, seed: int, split: str = "heldout", draw=None,
                         weights: list[float] | None = None) -> list[dict]:
    """`n` items {"prompt", "constraints", "task"}: the tasks in a seeded order (cycling when n >
    len(tasks)), each with 1-3 uniformly drawn compatible constraints, composed with the phrasings of
    `split` ("heldout" by default, or "train"); "task" is the task text the prompt was composed from.
    A type `draw` (`drawing.TypeDraw`) and count `weights` (for 1, 2 and 3) replace the uniform choices,
    as `sample_constraints` takes them: training instructions drawn the way a generation run draws.

    Deterministic in (tasks, n, seed, split) and the draw's state; a draw is never updated here."""
    tasks = [t.strip() for t in tasks if t and t.strip()]
    if not tasks:
        raise ValueError("no task text to build held-out instructions from")
    rng = random.Random(f"{split}:{seed}")
    order = rng.sample(tasks, len(tasks))
    items = []
    for index in range(n):
        task = order[index % len(order)]
        constraints = sample_constraints(rng, task, MAX_CONSTRAINTS, draw=draw, weights=weights)
        items.append({"prompt": compose(task, constraints, rng, split=split), "constraints": constraints, "task": task})
    return items


def training_instruction(task: str, constraints: list[dict], rng: random.Random) -> str:
    """`task` with `constraints` stated in training phrasings only (`compose(..., split="train")`)."""
    return compose(task, constraints, rng, split="train")
