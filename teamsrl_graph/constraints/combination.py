"""Constraints on the answer as a whole: repeat the request before answering, or give two
different answers separated by ******.

`combination:repeat_prompt` carries the request to repeat (`prompt_to_repeat`): the instruction
text without this constraint's own sentence. Whoever rewrites the instruction afterwards must
update it. It cannot be drawn without an instruction.
"""

from __future__ import annotations

from .base import ConstraintType, Param, label, sentence, verb

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
        verb(lambda k: "Open your reply by repeating the request above verbatim, leaving out this sentence and writing nothing before it; "
             "then answer it."),
        verb(lambda k: "Restate the request word for word (minus this sentence) as the very first thing in your reply, then respond to it."),
        verb(lambda k: "Please repeat my request exactly as written, without this sentence, before you give any answer."),
        sentence(lambda k: "Your answer should start by repeating the request verbatim (this sentence excluded), and only then answer it."),
        label(lambda k: "First step: repeat the request above word for word, leaving this sentence out; second step: answer it."),
        sentence(lambda k: "I need you to repeat the request unchanged at the very beginning of the reply, omitting this sentence, and then respond."),
    ),
    heldout=(
        label(lambda k: "Request first, answer second: repeat the instruction above exactly, except for this sentence, then reply to it."),
        verb(lambda k: "Copy out the prompt above word for word, not including this sentence, as the start of your reply, and answer it afterwards."),
    ),
    check=repeats,
    cues=lambda k: [r"\brepeat|\brestat|\bcopy", r"request|question|prompt|instruction"],
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
        verb(lambda k: "Provide two distinct answers with ****** (six asterisks) between them, and use ****** nowhere else."),
        verb(lambda k: "Offer two different versions of your reply, divided by a single line of ******."),
        verb(lambda k: "Please write two separate, different responses and put ****** between them."),
        sentence(lambda k: "Your answer should consist of two different replies separated by six asterisks (******), with nothing else splitting them."),
        label(lambda k: "Two answers: different from each other, with ****** as the only divider between them."),
        sentence(lambda k: "I need 2 alternative responses, separated by a line of ****** and not identical."),
    ),
    heldout=(
        label(lambda k: "****** (six asterisks) between two distinct responses: that is the format, and the divider appears only once."),
        sentence(lambda k: "The reply has to give two different takes on the request, joined by ****** and nothing more."),
    ),
    check=two_responses,
    cues=lambda k: [r"\btwo\b|\b2\b", r"\*{6}|six asterisks|6 asterisk"],
    conflicts=frozenset({
        "startend:end_checker", "startend:quotation", "detectable_format:number_bullet_lists", "detectable_format:constrained_response",
    }),
)

TYPES = (REPEAT_PROMPT, TWO_RESPONSES)
