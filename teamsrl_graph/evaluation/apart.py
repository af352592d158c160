"""The guard that keeps what a benchmark trains or builds data from apart from what it evaluates on.

`keep_apart(items, held, rows)` refuses (InputError) when an item's prompt is an evaluation prompt
(a held-out constrained instruction or an IFBench row) or its task is one the held-out instructions
were composed from. Items are {"prompt", "task"}: training instructions, or seeds (whose task is
their instruction). It reads nothing and changes nothing.
"""

from __future__ import annotations

from ..common.errors import InputError


def keep_apart(items: list[dict], held: list[dict], rows: list[dict], what: str = "training instructions",
               field: str = "instructions"):
    """An error naming `field` if one of `items` is an evaluation prompt or shares its task with one."""
    evaluation = {i["prompt"] for i in held} | {r["prompt"] for r in rows}
    shared = [i["prompt"] for i in items if i["prompt"] in evaluation]
    shared += sorted({i["task"] for i in items} & {i["task"] for i in held})
    if shared:
        raise InputError(f"{what} overlap the evaluation: {shared[:3]}", field=field)
