"""The registry of verifiable constraint types and the functions the rest of the project uses.

A constraint is a plain dict `{"id": "length_constraints:number_words", "kwargs": {...}}`, as
records carry it. This module only reads and checks text; it makes no LLM calls.

  sample_constraint(existing, seed, index, step, instruction="") -> dict | None
  phrase(constraint, variant=0, split="train") -> str   (in `wording`)
  sample_constraints(rng, instruction, count, draw=None, family=None) -> list[dict]   (1..count of them)
  family_of(type_id) -> str   (FAMILIES: the id prefixes, e.g. "keywords")
  stated(instruction, constraint) -> bool
  verify(response, constraints) -> dict   (in `verification`)
  validate(constraints, path=None, line=None) -> None   (raises InputError; in `validation`)

Conflicts are symmetric: a type's list names the types it cannot be combined with, and the
registry adds the reverse direction.
"""

from __future__ import annotations

import random
import re

from . import case, combination, content, formatting, keywords, length, startend
from .base import ConstraintType
from .drawing import EVEN

_ALL = length.TYPES + keywords.TYPES + case.TYPES + formatting.TYPES + content.TYPES + combination.TYPES + startend.TYPES
TYPES: dict[str, ConstraintType] = {t.id: t for t in _ALL}
CONFLICTS: dict[str, frozenset[str]] = {
    t.id: frozenset(t.conflicts | {o.id for o in _ALL if t.id in o.conflicts}) for t in _ALL
}


FAMILIES = tuple(sorted({type_id.split(":")[0] for type_id in TYPES}))  # a type's family: its id's prefix


def family_of(type_id: str) -> str:
    """The family of a constraint type: "length_constraints" for "length_constraints:number_words"."""
    return type_id.split(":", 1)[0]


def compatible(type_id: str, existing: list[dict]) -> bool:
    """`type_id` is neither present in `existing` nor in conflict with any of it."""
    present = {c["id"] for c in existing}
    return type_id not in present and not (CONFLICTS[type_id] & present)


def sample_constraint(existing: list[dict], seed: int, index: int, step: int, instruction: str = "") -> dict | None:
    """A new constraint compatible with `existing`, the same for the same (seed, index, step).

    None when no type fits (every type present or in conflict). Draws from a local generator seeded
    with the three numbers; the global `random` state is never touched.
    """
    rng = random.Random(f"constraint:{seed}:{index}:{step}")
    candidates = [i for i in sorted(TYPES) if compatible(i, existing)]
    rng.shuffle(candidates)
    for type_id in candidates:
        kwargs = TYPES[type_id].sample(rng, instruction)
        if kwargs is not None:
            return {"id": type_id, "kwargs": kwargs}
    return None


def sample_constraints(rng: random.Random, instruction: str, count: int, draw=None, existing=(),
                       family: str | None = None, weights: list[float] | None = None) -> list[dict]:
    """Between 1 and `count` compatible constraints for `instruction` (how many: uniform in 1..count,
    or in proportion to `weights`, one per number 1..count), none of them clashing with the
    `existing` constraints the instruction already carries.

    Each type is chosen among the types compatible with those already drawn, by `draw.pick(rng,
    allowed, preferred)` when a `draw` is given (e.g. a `drawing.TypeDraw`), else uniformly; its
    kwargs come from the type's own sampler. A type whose sampler finds nothing to draw
    (repeat_prompt without an instruction) is skipped; fewer come back only when no compatible type
    is left. With a `family`, its types are preferred (`preferred`; the draw's floor still picks
    among all allowed types, and without a draw `drawing.EVEN` serves); when none of them fits,
    any type may come.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    if family is not None and family not in FAMILIES:
        raise ValueError(f"unknown constraint family {family!r}; expected one of {', '.join(FAMILIES)}")
    preferred = None if family is None else {t for t in TYPES if family_of(t) == family}
    if preferred is not None and draw is None:
        draw = EVEN
    if weights is not None and len(weights) != count:
        raise ValueError(f"expected {count} weights, one per number of constraints, not {len(weights)}")
    wanted = rng.choices(range(1, count + 1), weights)[0] if weights else rng.randint(1, count)
    found: list[dict] = []
    while len(found) < wanted:
        allowed = [type_id for type_id in sorted(TYPES) if compatible(type_id, [*existing, *found])]
        while allowed:
            type_id = draw.pick(rng, allowed, preferred) if draw is not None else rng.choice(allowed)
            kwargs = TYPES[type_id].sample(rng, instruction)
            if kwargs is not None:
                found.append({"id": type_id, "kwargs": kwargs})
                break
            allowed.remove(type_id)
        if not allowed:
            break
    return found


def stated(instruction: str, constraint: dict) -> bool:
    """Whether `instruction` still states `constraint`: its numbers, words and kind are all there.

    Meant to catch rewrites that dropped or changed a requirement, so the registry's phrasing can be
    appended again; it does not parse the sentence, so a garbled but complete statement passes.
    """
    cues = TYPES[constraint["id"]].cues(constraint.get("kwargs") or {})
    return all(re.search(cue, instruction, flags=re.IGNORECASE) for cue in cues)
