"""Constraints on the answer as a whole: repeat the request before answering, or give two
different answers separated by ******.

`combination:repeat_prompt` carries the request to repeat (`prompt_to_repeat`): the instruction
text without this constraint's own sentence. Whoever rewrites the instruction afterwards must
update it. It cannot be drawn without an instruction.
"""

from __future__ import annotations

from .base import ConstraintType, Param

SEPARATOR = "******"


def two_responses(response: str) -> bool:
    """Exactly two non-empty, different answers around ******."""
    parts = [p.strip() for p in response.split(SEPARATOR)]
    if parts and not parts[0]:
        parts = parts[1:]
    if parts and not parts[-1]:
        parts = parts[:-1]
    return len(parts) == 2 and all(parts) and parts[0] != parts[1]


def repeats(response: str, prompt_to_repeat: str) -> bool:
    """The response starts with the request, word for word (case and surrounding spaces aside)."""
    return response.strip().lower().startswith(prompt_to_repeat.strip().lower())


REPEAT_PROMPT = ConstraintType(
    id="combination:repeat_prompt",
    params={"prompt_to_repeat": Param(str)},
    sample=lambda rng, instruction: {"prompt_to_repeat": instruction.strip()} if instruction.strip() else None,
    phrasings=(
        lambda k: "Open your reply by repeating the request above verbatim, leaving out this sentence and writing nothing before it; "
        "then answer it.",
        lambda k: "Restate the request word for word (minus this sentence) as the very first thing in your reply, then respond to it.",
    ),
    check=repeats,
    cues=lambda k: [r"\brepeat|\brestat", r"request|question|prompt|instruction"],
    conflicts=frozenset({
        "startend:first_word", "startend:quotation", "detectable_format:title", "detectable_format:multiple_sections",
        "combination:two_responses", "punctuation:no_comma", "keywords:letter_frequency",
    }),
)

TWO_RESPONSES = ConstraintType(
    id="combination:two_responses",
    params={},
    sample=lambda rng, _: {},
    phrasings=(
        lambda k: "Provide two distinct answers with ****** (six asterisks) between them, and use ****** nowhere else.",
        lambda k: "Offer two different versions of your reply, divided by a single line of ******.",
    ),
    check=two_responses,
    cues=lambda k: [r"\btwo\b|\b2\b", r"\*{6}|six asterisks|6 asterisk"],
    conflicts=frozenset({
        "startend:end_checker", "startend:quotation", "detectable_format:number_bullet_lists", "detectable_format:constrained_response",
    }),
)

TYPES = (REPEAT_PROMPT, TWO_RESPONSES)
