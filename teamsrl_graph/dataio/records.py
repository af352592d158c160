"""The records the evolution graph writes, one per seed: their id, their prompt text, whether they
are usable and verified, and the seeded held-out split every trainer uses. Reading and writing files is `files.py`'s job."""

from __future__ import annotations

import hashlib
import random

from ..common.errors import InputError


def record_id(seed: str, input_text: str = "") -> str:
    """The stable id of the record a seed (and its input) becomes: a later run can tell it is done."""
    return hashlib.sha256(f"{seed}\x00{input_text}".encode()).hexdigest()[:16]


def prompt_of(record: dict) -> str:
    """The user turn: the final instruction, followed by its input when there is one."""
    instruction, extra = record["instruction"].strip(), (record.get("input") or "").strip()
    return f"{instruction}\n\n{extra}" if extra else instruction


def usable(record: dict) -> bool:
    """A record a fine-tune can take: its answer passed (`response_ok`) and is not empty."""
    return bool(record.get("response_ok")) and bool(record.get("response", "").strip())


def verified(record: dict) -> bool:
    """A verified record: it carries at least one constraint, its answer is usable (`response_ok`) and
    meets every constraint as written (`constraints_ok`, strict). The one definition that reports,
    run summaries and model cards count by."""
    return bool(record.get("constraints")) and record.get("constraints_ok") is True and bool(record.get("response_ok"))


def split_heldout(records: list, fraction: float, seed: int = 0) -> tuple[list, list]:
    """(train, heldout): a seeded random `fraction` of the records held out, at least one when possible."""
    if not 0 <= fraction < 1:
        raise InputError(f"held-out fraction must be in [0, 1), got {fraction}", field="heldout_fraction")
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    count = min(len(records) - 1, max(1, round(len(records) * fraction))) if fraction > 0 else 0
    held = set(order[:count])
    return ([r for i, r in enumerate(records) if i not in held], [r for i, r in enumerate(records) if i in held])
