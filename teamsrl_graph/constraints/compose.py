"""Building one instruction from a task and its constraints, with the statements placed and worded
at random: before the task, after it, or woven into its last sentence.

`compose` draws a phrasing of the chosen split and a place for each constraint; `assemble` puts
given statements in given places (the deterministic part, table-tested). Weaving joins an
imperative to a task ending in "." with ", and " or " — " ("Describe tides, and use lowercase."),
a sentence with its own subject with " — "; noun-first statements and tasks that end in "?" or span
several lines are never woven into. At most one statement is woven, so the task stays one sentence.
A repeat-the-request constraint keeps the task first and verbatim (its `prompt_to_repeat` must be
the task) and goes last. This module does not choose constraints (`sample_constraints` does).
"""

from __future__ import annotations

import random

from .base import Phrasing
from .wording import phrasings

PLACES = ("before", "after", "woven")
REPEAT = "combination:repeat_prompt"
ENDINGS = tuple(".!?:;\"'”’)>*]")


def finished(text: str) -> str:
    """`text` stripped, starting with a capital and ending with punctuation (a period when it had none)."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith(ENDINGS) else text + "."


def lower_first(text: str) -> str:
    """"Please use ..." -> "please use ...", leaving "I ...", acronyms ("JSON ...") and quotes alone."""
    first = text.split(" ", 1)[0]
    if not text[:1].isalpha() or first == "I" or (len(first) > 1 and first.rstrip(":,").isupper()):
        return text
    return text[0].lower() + text[1:]


def weavable(task: str) -> bool:
    """A single-line task that ends in one period can take a statement woven into it."""
    return "\n" not in task and task.endswith(".") and not task.endswith("..")


def assemble(task: str, parts: list[tuple[str, str, str]]) -> str:
    """The instruction with `parts` = [(statement, place, joiner)] placed around `task`.

    place is "before", "after" or "woven"; joiner (", and " or " — ") is used only when woven, and
    only one part may be woven (into a task that `weavable` accepts).
    """
    task = finished(task)
    before = [finished(text) for text, place, _ in parts if place == "before"]
    after = [finished(text) for text, place, _ in parts if place == "after"]
    woven = [(text, joiner) for text, place, joiner in parts if place == "woven"]
    if len(woven) > 1 or (woven and not weavable(task)):
        raise ValueError("at most one statement can be woven, and only into a one-line task ending in '.'")
    if woven:
        text, joiner = woven[0]
        task = task[:-1] + joiner + lower_first(finished(text))
    gap = "\n\n" if "\n" in task else " "
    return gap.join([" ".join(before), task, " ".join(after)]).strip()


def _joiners(phrasing: Phrasing) -> tuple[str, ...]:
    return {"verb": (", and ", " — "), "sentence": (" — ",)}.get(phrasing.form, ())


def compose(task: str, constraints: list[dict], rng: random.Random, split: str = "train") -> str:
    """One instruction stating `task` and every constraint, each in a phrasing of `split`.

    Deterministic for the same `rng` state. Raises ValueError when a repeat_prompt constraint's
    `prompt_to_repeat` is not the task itself.
    """
    parts = []
    repeat = [c for c in constraints if c["id"] == REPEAT]
    if repeat and repeat[0]["kwargs"]["prompt_to_repeat"].strip() != task.strip():
        raise ValueError("a repeat_prompt constraint must carry the task itself as prompt_to_repeat")
    can_weave = weavable(finished(task)) and not repeat
    for constraint in constraints:
        if constraint["id"] == REPEAT:
            continue
        phrasing = rng.choice(phrasings(constraint["id"], split))
        place = rng.choice(PLACES)
        joiners = _joiners(phrasing)
        if place == "woven" and not (can_weave and joiners):
            place = rng.choice(("before", "after"))
        if repeat and place == "before":
            place = "after"
        joiner = rng.choice(joiners) if place == "woven" else ""
        can_weave = can_weave and place != "woven"
        parts.append((phrasing(constraint.get("kwargs") or {}), place, joiner))
    for constraint in repeat:
        parts.append((rng.choice(phrasings(REPEAT, split))(constraint["kwargs"]), "after", ""))
    return assemble(task, parts)
