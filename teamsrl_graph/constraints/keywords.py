"""Keyword constraints: words that must appear, must not appear, or appear a number of times, and
how often a letter appears.

Words match whole and case-insensitively ("cat" is not found in "category"). Sampled keywords come
from one pool and forbidden words from another, so the two never ask for the same word; forbidden
words that the instruction itself uses are not drawn (the answer may need to repeat it).
"""

from __future__ import annotations

from .base import (
    RELATION_CUES, ConstraintType, Param, amount, compare, count_word, label, number_cue, plural, quoted_list, sentence, text_cue, times,
    verb,
)
from .text import words

KEYWORDS = (
    "balance bridge candle compass garden harbor lighthouse lantern ladder mirror mountain ocean orchard marble "
    "river rhythm season shadow signal silver spark storm thread timber valley whisper window anchor canvas "
    "echo feather blossom island meadow pebble cottage ribbon summit tunnel velvet"
).split()
FORBIDDEN = (
    "very really actually basically thing things stuff good bad nice just important simply literally "
    "however therefore overall crucial various"
).split()
COMMON_LETTERS = "aeinorst"
RARE_LETTERS = "jqxz"  # "at most" letter counts use these; no keyword contains them
ONCE_TWICE = {1: r"|\bonce\b", 2: r"|\btwice\b"}


def the_words(items: list[str]) -> str:
    """"the word 'a'" or "the words 'a' and 'b'"."""
    return ("the word " if len(items) == 1 else "the words ") + quoted_list(items)


def _existence(rng, _):
    return {"keywords": rng.sample(KEYWORDS, rng.randint(1, 3))}


def _forbidden(rng, instruction):
    used = {w.lower() for w in words(instruction)}
    pool = [w for w in FORBIDDEN if w not in used]
    return {"forbidden_words": rng.sample(pool, min(len(pool), rng.randint(1, 3)))} if pool else None


def _frequency(rng, _):
    relation = rng.choice(("at least", "at most"))
    return {"keyword": rng.choice(KEYWORDS), "relation": relation,
            "frequency": rng.randint(2, 4) if relation == "at least" else rng.randint(1, 2)}


def _letter(rng, _):
    if rng.random() < 0.7:
        return {"letter": rng.choice(COMMON_LETTERS), "let_relation": "at least", "let_frequency": rng.randrange(5, 31, 5)}
    return {"letter": rng.choice(RARE_LETTERS), "let_relation": "at most", "let_frequency": rng.randint(1, 4)}


def _letter_cue(letter: str) -> str:
    return rf"letter\s*['\"‘“]?{letter}\b|['\"‘“]{letter}['\"’”]"


EXISTENCE = ConstraintType(
    id="keywords:existence",
    params={"keywords": Param(list, 1, 10)},
    sample=_existence,
    phrasings=(
        verb(lambda k: f"Work {the_words(k['keywords'])} into your reply."),
        verb(lambda k: f"Be sure your reply uses {the_words(k['keywords'])} somewhere."),
        verb(lambda k: f"Please mention {quoted_list(k['keywords'])} at least once each, as whole words."),
        sentence(lambda k: f"Your answer should contain {the_words(k['keywords'])}."),
        label(lambda k: f"Required {'keyword' if len(k['keywords']) == 1 else 'keywords'}: {quoted_list(k['keywords'])}."),
        sentence(lambda k: f"I need to see {the_words(k['keywords'])} in what you write."),
    ),
    heldout=(
        label(lambda k: f"{quoted_list(k['keywords'])}: {'this word has' if len(k['keywords']) == 1 else 'each of these words has'} to appear in the reply."),
        verb(lambda k: f"Somewhere in the text, use {the_words(k['keywords'])}."),
    ),
    check=lambda response, keywords: all(count_word(response, w) for w in keywords),
    cues=lambda k: [text_cue(w) for w in k["keywords"]],
)

FORBIDDEN_WORDS = ConstraintType(
    id="keywords:forbidden_words",
    params={"forbidden_words": Param(list, 1, 10)},
    sample=_forbidden,
    phrasings=(
        verb(lambda k: f"Never write {the_words(k['forbidden_words'])} anywhere in your reply."),
        sentence(lambda k: f"Your reply must not contain {the_words(k['forbidden_words'])}."),
        verb(lambda k: f"Please avoid {the_words(k['forbidden_words'])} completely."),
        label(lambda k: f"Banned {'word' if len(k['forbidden_words']) == 1 else 'words'}: {quoted_list(k['forbidden_words'])}; do not use them in any form of capitalization."),
        sentence(lambda k: f"I don't want to see {the_words(k['forbidden_words'])} in the answer."),
        verb(lambda k: f"Write the reply without {the_words(k['forbidden_words'])}."),
    ),
    heldout=(
        label(lambda k: f"{quoted_list(k['forbidden_words'])}: {'this word is' if len(k['forbidden_words']) == 1 else 'these words are'} off-limits, so leave {'it' if len(k['forbidden_words']) == 1 else 'them'} out."),
        sentence(lambda k: f"The text may not use {the_words(k['forbidden_words'])} even once."),
    ),
    check=lambda response, forbidden_words: not any(count_word(response, w) for w in forbidden_words),
    cues=lambda k: [r"\b(?:not|never|avoid|without|forbidden|exclude|no|banned|off-limits)\b|n't"] + [text_cue(w) for w in k["forbidden_words"]],
)

FREQUENCY = ConstraintType(
    id="keywords:frequency",
    params={"keyword": Param(str), "relation": Param(str, choices=("at least", "at most", "exactly")), "frequency": Param(int, 0, 100)},
    sample=_frequency,
    phrasings=(
        sentence(lambda k: f"The word '{k['keyword']}' has to show up {k['relation']} {plural(k['frequency'], 'time')} in your reply."),
        verb(lambda k: f"Write the word '{k['keyword']}' {k['relation']} {plural(k['frequency'], 'time')} in total."),
        verb(lambda k: f"Please use '{k['keyword']}' {k['relation']} {times(k['frequency'])}."),
        sentence(lambda k: f"Your answer should include the word '{k['keyword']}' {amount(k['relation'], k['frequency'], 'time', 2)}."),
        label(lambda k: f"Occurrences of '{k['keyword']}': {amount(k['relation'], k['frequency'], 'time', 3).rsplit(' ', 1)[0]}."),
        sentence(lambda k: f"I need the word '{k['keyword']}' to appear {amount(k['relation'], k['frequency'], 'time', 1)}."),
    ),
    heldout=(
        label(lambda k: f"{amount(k['relation'], k['frequency'], 'time', 2).capitalize()}: that is how often '{k['keyword']}' should be used."),
        verb(lambda k: f"Repeat the word '{k['keyword']}' {amount(k['relation'], k['frequency'], 'time', 3)} across the whole text."),
    ),
    check=lambda response, keyword, relation, frequency: compare(count_word(response, keyword), relation, frequency),
    cues=lambda k: [text_cue(k["keyword"]), RELATION_CUES[k["relation"]], number_cue(k["frequency"]) + ONCE_TWICE.get(k["frequency"], "")],
)

LETTER_FREQUENCY = ConstraintType(
    id="keywords:letter_frequency",
    params={"letter": Param(str, choices=tuple("abcdefghijklmnopqrstuvwxyz")),
            "let_relation": Param(str, choices=("at least", "at most", "exactly")), "let_frequency": Param(int, 0, 1000)},
    sample=_letter,
    phrasings=(
        sentence(lambda k: f"The letter '{k['letter']}', in either case, must occur {k['let_relation']} {plural(k['let_frequency'], 'time')} in your reply."),
        verb(lambda k: f"Counting capitals too, write the letter '{k['letter']}' {k['let_relation']} {plural(k['let_frequency'], 'time')} in the reply."),
        verb(lambda k: f"Please use the letter '{k['letter']}' {amount(k['let_relation'], k['let_frequency'], 'time', 1)}, upper and lower case together."),
        sentence(lambda k: f"Your answer should contain the letter '{k['letter']}' {amount(k['let_relation'], k['let_frequency'], 'time', 2)} (capital or small, all count)."),
        label(lambda k: f"Letter '{k['letter']}': {amount(k['let_relation'], k['let_frequency'], 'occurrence', 3)} in the whole reply, in any case."),
        sentence(lambda k: f"I need the letter '{k['letter']}' to appear {k['let_relation']} {plural(k['let_frequency'], 'time')}, whether capitalized or not."),
    ),
    heldout=(
        label(lambda k: f"{amount(k['let_relation'], k['let_frequency'], 'time', 1).capitalize()}: that is how often the letter '{k['letter']}' should appear, ignoring case."),
        verb(lambda k: f"Keep the count of the letter '{k['letter']}' (either case) at {amount(k['let_relation'], k['let_frequency'], 'occurrence', 2)}."),
    ),
    check=lambda response, letter, let_relation, let_frequency: compare(response.lower().count(letter), let_relation, let_frequency),
    cues=lambda k: [_letter_cue(k["letter"]), RELATION_CUES[k["let_relation"]], number_cue(k["let_frequency"])],
)

TYPES = (EXISTENCE, FORBIDDEN_WORDS, FREQUENCY, LETTER_FREQUENCY)
