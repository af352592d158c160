"""How the answer starts and ends, and punctuation: wrapped in double quotes, a closing phrase, a
first word, no commas.

End phrase and first word compare case-insensitively; the first word is the first word of the
answer as `text.words` reads it, so markup before it ("* ", "**") does not matter.
"""

from __future__ import annotations

from .base import ConstraintType, Param, text_cue
from .text import words

END_PHRASES = (
    "That covers the main points.",
    "Thanks for reading.",
    "Those are my thoughts on it.",
    "I hope this is useful.",
    "Feel free to ask for more detail.",
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
        lambda k: "Enclose the whole reply in a pair of double quotes.",
        lambda k: "Make the first and the last character of your reply a double quotation mark.",
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
        lambda k: f"Close your reply with the exact words \"{k['end_phrase']}\" and add nothing after them.",
        lambda k: f"Let your reply end on \"{k['end_phrase']}\", word for word, with nothing following it.",
    ),
    check=ends_with,
    cues=lambda k: [r"\bend|\bfinish|\bclose|\bconclude", text_cue(k["end_phrase"].rstrip(".?!"))],
)

FIRST_WORD = ConstraintType(
    id="startend:first_word",
    params={"first_word": Param(str)},
    sample=lambda rng, _: {"first_word": rng.choice(FIRST_WORDS)},
    phrasings=(
        lambda k: f"Let \"{k['first_word']}\" be the opening word of your reply.",
        lambda k: f"The first word of your reply has to be {k['first_word']}.",
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
        lambda k: "Write the reply without any commas.",
        lambda k: "Leave out commas entirely; not one may appear in your reply.",
    ),
    check=lambda response: "," not in response and "，" not in response,
    cues=lambda k: [r"\bcommas?\b", r"\b(?:no|not|never|without|refrain|avoid)\b|n't"],
)

TYPES = (QUOTATION, END_CHECKER, FIRST_WORD, NO_COMMA)
