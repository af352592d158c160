"""Hindsight relabeling by verifiable constraints: an output is a positive of what it satisfies.

An instruction here is a base task plus constraints C (registry dicts, as records carry them). For
a sampled output y the verifiers say which constraints y satisfies (strict); the hindsight
instruction is the base task followed by the registry phrasing of exactly those, in C's order, so
every usable sample is a correct positive of some instruction. When y misses a constraint, the
instruction stating all of C is what it does not satisfy: that is the pair's contrastive negative.
An output that satisfies all of C is a positive of the original instruction with no negative.

`ConstrainedTask` serves these instructions to the HIR trainer the way `tasks.py` serves exact-answer
tasks (instances, a verifier, pairs); `constrained_instructions` makes them deterministically from
plain seed texts and registry constraints, `from_items` takes composed ones (an instruction in
training wordings keeps its wording; its hindsight instructions use the registry's phrasing), and
`from_records` reads them from graph records. Nothing here touches a model.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from ..constraints import phrase, sample_constraint, stated, validate, verify
from ..common.errors import InputError
from ..evolve.review import check_answer
from .relabel import Pair


@dataclass(frozen=True)
class Constrained:
    task: str  # the base task, without any constraint
    constraints: tuple  # registry constraint dicts, in the order the instruction states them
    wording: str | None = None  # the instruction as composed elsewhere (`compose`); None: `instruction`'s

    @property
    def prompt(self) -> str:
        """The instruction the model is asked: `wording`, else the base task and the phrasing of every constraint."""
        return self.wording or instruction(self.task, list(self.constraints))


def instruction(task: str, constraints: list[dict]) -> str:
    """The base task followed by the registry phrasing (variant 0) of each constraint."""
    return " ".join([task.strip(), *(phrase(c) for c in constraints)])


def satisfied(output: str, constraints: list[dict]) -> list[bool]:
    """Strict verdict of `output` on each constraint, in order."""
    return [r["strict"] for r in verify(output, constraints)["results"]]


def relabel_constrained(item: Constrained, outputs: list[str], *, keep_partial: bool = True,
                        max_tokens: int | None = None) -> list[Pair]:
    """Pairs for the outputs sampled for one constrained instruction.

    An output failing the answer rules (empty, refusal, looping; `review.check_answer`) gives no pair.
    A fully compliant output is a positive of the original instruction. Any other output is a
    positive of the base task plus the constraints it does satisfy (`hindsight=True`) and a negative
    of the original instruction; with keep_partial=False such outputs are dropped (rejection sampling).
    """
    constraints, pairs = list(item.constraints), []
    for output in outputs:
        if check_answer(output, max_tokens):
            continue
        verdicts = satisfied(output, constraints)
        if all(verdicts):
            pairs.append(Pair(item.prompt, output, None))
        elif keep_partial:
            kept = [c for c, ok in zip(constraints, verdicts) if ok]
            pairs.append(Pair(instruction(item.task, kept), output, item.prompt, hindsight=True))
    return pairs


def constrained_instructions(tasks: list[str], seed: int, per_instruction: int = 1) -> list[Constrained]:
    """Each task with `per_instruction` compatible registry constraints, the same for the same seed."""
    items = []
    for index, task in enumerate(tasks):
        constraints: list[dict] = []
        for step in range(per_instruction):
            drawn = sample_constraint(constraints, seed, index, step, task)
            if drawn is not None:
                constraints.append(drawn)
        items.append(Constrained(task.strip(), tuple(constraints)))
    return items


def from_items(items: list[dict]) -> list[Constrained]:
    """Constrained instructions from composed items {"prompt", "constraints", "task"}
    (`constraints.heldout_instructions`): each keeps its composed prompt as its wording."""
    return [Constrained(item["task"], tuple(item["constraints"]), item["prompt"]) for item in items]


def base_task(record: dict) -> str:
    """The record's instruction before its constraints: on the evolution path, the last accepted
    instruction before the first accepted step that drew a constraint (the seed when that step came
    first); without a path, the instruction with every sentence that states a constraint removed."""
    path = record.get("path") or []
    if path:
        task = record.get("seed") or record["instruction"]
        for step in path:
            if step.get("accepted") and step.get("constraint"):
                return task
            if step.get("accepted"):
                task = step["candidate"]
        return task
    sentences = re.split(r"(?<=[.!?])\s+", record["instruction"].strip())
    kept = [s for s in sentences if not any(stated(s, c) for c in record["constraints"])]
    return " ".join(kept)


def from_records(records: list[dict], source="<records>") -> list[Constrained]:
    """The constrained instructions of records that carry constraints (checked; bad ones name file and line)."""
    items = []
    for number, record in enumerate(records, 1):
        if not isinstance(record.get("instruction"), str) or not record["instruction"].strip():
            raise InputError("missing, empty or not a string", path=source, line=number, field="instruction")
        if record.get("constraints") in (None, []):
            continue
        validate(record["constraints"], path=source, line=number)
        task = base_task(record)
        if not task.strip():
            raise InputError("no task is left once the constraint sentences are removed", path=source,
                             line=number, field="instruction")
        extra = (record.get("input") or "").strip()
        items.append(Constrained(f"{task}\n\n{extra}" if extra else task, tuple(record["constraints"])))
    if not items:
        raise InputError("no record carries constraints", path=source, field="constraints")
    return items


class ConstrainedTask:
    """Constrained instructions as an HIR task: instances, a verifier (every constraint, strict) and pairs."""

    name = "constrained"

    def __init__(self, train: list[Constrained], heldout: list[Constrained], max_new_tokens: int = 160):
        if not train or not heldout:
            raise InputError("constrained HIR needs training and held-out instructions", field="constraints")
        self.train, self.heldout, self.max_new_tokens = train, heldout, max_new_tokens

    def instances(self, n: int, seed: int, exclude=frozenset()) -> list[Constrained]:
        """`n` instructions: training ones (cycled in a seeded order) or, with `exclude`, the held-out ones."""
        if exclude:
            return self.heldout[:n]
        order = list(self.train)
        random.Random(seed).shuffle(order)
        return [order[i % len(order)] for i in range(n)]

    def verify(self, item: Constrained, output: str) -> bool:
        return not check_answer(output, self.max_new_tokens) and all(satisfied(output, list(item.constraints)))

    def pairs(self, item: Constrained, outputs: list[str], keep_wrong: bool = True, **_) -> list[Pair]:
        return relabel_constrained(item, outputs, keep_partial=keep_wrong, max_tokens=self.max_new_tokens)
