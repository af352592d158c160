"""How the answer starts and ends, and punctuation: wrapped in double quotes, a closing phrase, a
first word, no commas.

End phrase and first word compare case-insensitively; the first word is the first word of the
answer as `text.words` reads it, so markup before it ("* ", "**") does not matter.
"""

from __future__ import annotations

from .base import ConstraintType, Param, text_cue
from .text import words

END_PHRASES = (
    "Is there anything else I can help with?",
    "Any other questions?",
    "Let me know if you have additional questions.",
    "That is all you need to know.",
    "Hope this helps.",
)
FIRST_WORDS = ("Yes", "Imagine", "Today", "Firstly", "Interestingly", "Remember", "Honestly", "Picture")


def quoted(response: str) -> bool:
    text = response.strip()
    return len(text) > 1 and (text[0], text[-1]) in {('"', '"'), ("“", "”")}


def ends_with(response: str, end_phrase: str) -> bool:
    return " ".join(response.split()).lower().endswith(" ".join(end_phrase.split()).lower())


def starts_with(response: str, first_word: str) -> bool:
    found = words(response)
    return bool(found) and found[0].lower() == first_word.lower()


QUOTATION = ConstraintType(
    id="startend:quotation",
    params={},
    sample=lambda rng, _: {},
    phrasings=(
        lambda k: "Wrap your entire response with double quotation marks.",
        lambda k: "Put your whole answer inside double quotes.",
    ),
    check=quoted,
    cues=lambda k: [r"double quot|quotation marks"],
    conflicts=frozenset({"startend:end_checker", "startend:first_word"}),
)

END_CHECKER = ConstraintType(
    id="startend:end_checker",
    params={"end_phrase": Param(str)},
    sample=lambda rng, _: {"end_phrase": rng.choice(END_PHRASES)},
    phrasings=(
        lambda k: f"Finish your response with this exact phrase: {k['end_phrase']} No other words should follow this phrase.",
        lambda k: f"End your answer with the exact phrase \"{k['end_phrase']}\", with nothing after it.",
    ),
    check=ends_with,
    cues=lambda k: [r"\bend|\bfinish|\bclose|\bconclude", text_cue(k["end_phrase"].rstrip(".?!"))],
)

FIRST_WORD = ConstraintType(
    id="startend:first_word",
    params={"first_word": Param(str)},
    sample=lambda rng, _: {"first_word": rng.choice(FIRST_WORDS)},
    phrasings=(
        lambda k: f"The very first word of your response must be \"{k['first_word']}\".",
        lambda k: f"Start your answer with the word {k['first_word']}.",
    ),
    check=starts_with,
    cues=lambda k: [r"\bfirst\b|\bstart|\bbegin|\bopen", text_cue(k["first_word"])],
    conflicts=frozenset({"detectable_format:title", "detectable_format:multiple_sections"}),
)

NO_COMMA = ConstraintType(
    id="punctuation:no_comma",
    params={},
    sample=lambda rng, _: {},
    phrasings=(
        lambda k: "In your entire response, refrain from the use of any commas.",
        lambda k: "Do not use a single comma in your answer.",
    ),
    check=lambda response: "," not in response and "，" not in response,
    cues=lambda k: [r"\bcommas?\b", r"\b(?:no|not|never|without|refrain|avoid)\b|n't"],
)

TYPES = (QUOTATION, END_CHECKER, FIRST_WORD, NO_COMMA)
