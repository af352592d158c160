"""How a constraint is said: each type's training and held-out phrasings, and the sentence for one.

Training phrasings (`ConstraintType.phrasings`) are the only ones used to build training data;
held-out phrasings (`ConstraintType.heldout`) are kept for evaluation, so a model that learned the
sentences rather than the requirements shows it there. Placing a sentence in an instruction is
`compose`'s job, not this module's.
"""

from __future__ import annotations

from ..common.errors import InputError
from .base import Phrasing
from .registry import TYPES

SPLITS = ("train", "heldout")


def phrasings(type_id: str, split: str = "train") -> tuple[Phrasing, ...]:
    """The phrasings of `type_id` in `split` ("train" or "heldout")."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    if type_id not in TYPES:
        raise InputError(f"unknown constraint id {type_id!r}", field="id")
    constraint_type = TYPES[type_id]
    return constraint_type.phrasings if split == "train" else constraint_type.heldout


def phrase(constraint: dict, variant: int = 0, split: str = "train") -> str:
    """The sentence for `constraint`: phrasing `variant` of `split` (wrapping around)."""
    options = phrasings(constraint["id"], split)
    return options[variant % len(options)](constraint.get("kwargs") or {})


def phrasing_counts() -> dict[str, dict[str, int]]:
    """{type_id: {"train": n, "heldout": m}} for every registered type."""
    return {type_id: {split: len(phrasings(type_id, split)) for split in SPLITS} for type_id in sorted(TYPES)}
