"""How the answer starts and ends, and punctuation: wrapped in double quotes, a closing phrase, a
first word, no commas.

End phrase and first word compare case-insensitively; the first word is the first word of the
answer as `text.words` reads it, so markup before it ("* ", "**") does not matter.
"""

from __future__ import annotations

from .base import ConstraintType, Param, label, sentence, text_cue, verb
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
        verb(lambda k: "Enclose the whole reply in a pair of double quotes."),
        verb(lambda k: "Make the first and the last character of your reply a double quotation mark."),
        verb(lambda k: "Please put the entire answer inside double quotation marks, opening \" at the very start and closing \" at the very end."),
        sentence(lambda k: "Your answer should begin and end with a double quote character, so that the whole text is one quotation."),
        label(lambda k: "Wrapping: the complete reply between double quotes, nothing outside them."),
        sentence(lambda k: "I need the whole response enclosed in double quotation marks, with no text before the opening one or after the closing one."),
    ),
    heldout=(
        label(lambda k: "\"Like this\": the reply from its first character to its last sits inside double quotes."),
        verb(lambda k: "Surround everything you write with one set of double quotation marks."),
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
        verb(lambda k: f"Close your reply with the exact words \"{k['end_phrase']}\" and add nothing after them."),
        verb(lambda k: f"Let your reply end on \"{k['end_phrase']}\", word for word, with nothing following it."),
        verb(lambda k: f"Please finish the answer with the sentence \"{k['end_phrase']}\" as its very last words."),
        sentence(lambda k: f"Your answer should conclude with exactly \"{k['end_phrase']}\", with no further text after it."),
        label(lambda k: f"Final words: \"{k['end_phrase']}\", verbatim, with nothing after them."),
        sentence(lambda k: f"I need the reply to end with \"{k['end_phrase']}\" and not a single word more."),
    ),
    heldout=(
        label(lambda k: f"\"{k['end_phrase']}\": make that the closing sentence of the response, nothing after it."),
        sentence(lambda k: f"The last thing in the text must be the phrase \"{k['end_phrase']}\", copied exactly, so the text ends there."),
    ),
    check=ends_with,
    cues=lambda k: [r"\bend|\bfinish|\bclos[ei]|\bconclud|\bfinal|\blast\b", text_cue(k["end_phrase"].rstrip(".?!"))],
)

FIRST_WORD = ConstraintType(
    id="startend:first_word",
    params={"first_word": Param(str)},
    sample=lambda rng, _: {"first_word": rng.choice(FIRST_WORDS)},
    phrasings=(
        verb(lambda k: f"Let \"{k['first_word']}\" be the opening word of your reply."),
        sentence(lambda k: f"The first word of your reply has to be {k['first_word']}."),
        verb(lambda k: f"Please begin the answer with the word \"{k['first_word']}\"."),
        sentence(lambda k: f"Your answer should start with \"{k['first_word']}\" as its very first word."),
        label(lambda k: f"First word: \"{k['first_word']}\", before anything else in the reply."),
        sentence(lambda k: f"I need the reply to open with the word {k['first_word']}, with no title or greeting before it."),
    ),
    heldout=(
        label(lambda k: f"\"{k['first_word']}\": that word must start the response."),
        verb(lambda k: f"Make \"{k['first_word']}\" the word your text begins with."),
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
        verb(lambda k: "Write the reply without any commas."),
        verb(lambda k: "Leave out commas entirely; not one may appear in your reply."),
        verb(lambda k: "Please avoid the comma completely and use other punctuation instead."),
        sentence(lambda k: "Your answer should contain no commas at all."),
        label(lambda k: "Punctuation rule: no commas anywhere in the reply."),
        sentence(lambda k: "I don't want a single comma in the response."),
    ),
    heldout=(
        label(lambda k: "Zero commas: the text must not use that punctuation mark even once."),
        verb(lambda k: "Never use a comma in what you write; split long sentences instead."),
    ),
    check=lambda response: "," not in response and "，" not in response,
    cues=lambda k: [r"\bcommas?\b", r"\b(?:no|not|never|without|refrain|avoid)\b|n't"],
)

TYPES = (QUOTATION, END_CHECKER, FIRST_WORD, NO_COMMA)
