"""Letter-case constraints: all lowercase, all capitals, and how many words are in capitals.

A capital word is a word of two or more letters written all in capitals ("NASA"; "I" and the
letters of "P.S." do not count). The three types exclude one another, and lowercase also excludes
the types whose marks contain capitals (SECTION headers, "My answer is yes.").
"""

from __future__ import annotations

from .base import RELATION_CUES, ConstraintType, Param, amount, compare, label, number_cue, plural, sentence, verb
from .text import words

CASE_IDS = ("change_case:english_lowercase", "change_case:english_capital", "change_case:capital_word_frequency")


def capital_words(response: str) -> int:
    return sum(1 for w in words(response) if len(w) > 1 and w.isupper())


def _capital_words_kwargs(rng, _):
    relation = rng.choice(("at least", "at most"))
    return {"capital_relation": relation, "capital_frequency": rng.randint(2, 6) if relation == "at least" else rng.randint(2, 4)}


def _others(own: str, *more: str) -> frozenset:
    return frozenset(i for i in CASE_IDS if i != own) | frozenset(more)


LOWERCASE = ConstraintType(
    id="change_case:english_lowercase",
    params={},
    sample=lambda rng, _: {},
    phrasings=(
        verb(lambda k: "Put every letter of your reply in lowercase."),
        verb(lambda k: "Use lowercase for the whole reply, even at the start of sentences and in names."),
        verb(lambda k: "Please write only in lowercase letters, with no capitals anywhere."),
        sentence(lambda k: "Your answer should be entirely lowercase, including the first word and any names."),
        label(lambda k: "Case: lowercase throughout, not a single capital letter."),
        sentence(lambda k: "I need the reply typed in small letters only, from the first word to the last."),
    ),
    heldout=(
        label(lambda k: "All lowercase, please: no uppercase letter may appear anywhere."),
        sentence(lambda k: "Every character of the response that is a letter has to be lower case."),
    ),
    check=lambda response: response.islower(),
    cues=lambda k: [r"lower\s*-?\s*case|small letters"],
    conflicts=_others(CASE_IDS[0], "detectable_format:multiple_sections", "detectable_format:constrained_response",
                      "combination:repeat_prompt"),
)

CAPITALS = ConstraintType(
    id="change_case:english_capital",
    params={},
    sample=lambda rng, _: {},
    phrasings=(
        verb(lambda k: "Type the whole reply in uppercase."),
        sentence(lambda k: "Every letter of the reply must be a capital letter."),
        verb(lambda k: "Please write everything in capitals, with no lowercase letters at all."),
        sentence(lambda k: "Your answer should be fully in uppercase, from the first word to the last."),
        label(lambda k: "Case: all caps for the entire reply."),
        sentence(lambda k: "I need the reply set entirely in block letters, every word of it."),
    ),
    heldout=(
        label(lambda k: "ALL CAPS ONLY: not one lowercase letter anywhere in the answer."),
        verb(lambda k: "Shout the whole response, meaning every letter is upper case."),
    ),
    check=lambda response: response.isupper(),
    cues=lambda k: [r"capital|upper\s*-?\s*case|all caps|block letters"],
    conflicts=_others(CASE_IDS[1], "detectable_format:constrained_response", "combination:repeat_prompt"),
)

CAPITAL_WORDS = ConstraintType(
    id="change_case:capital_word_frequency",
    params={"capital_relation": Param(str, choices=("at least", "at most", "exactly")), "capital_frequency": Param(int, 0, 500)},
    sample=_capital_words_kwargs,
    phrasings=(
        verb(lambda k: f"Include {k['capital_relation']} {plural(k['capital_frequency'], 'word')} spelled fully in capital letters (a lone letter such as \"I\" does not count)."),
        sentence(lambda k: f"The reply should contain {k['capital_relation']} {plural(k['capital_frequency'], 'all-uppercase word')} like NASA; single letters are not counted."),
        verb(lambda k: f"Please use {amount(k['capital_relation'], k['capital_frequency'], 'word', 1)} written in all caps (single-letter words such as \"I\" are not counted)."),
        sentence(lambda k: f"Your answer should have {amount(k['capital_relation'], k['capital_frequency'], 'fully capitalized word', 2)} (such as KEY or NOTE; one-letter words do not count)."),
        label(lambda k: f"All-caps words: {amount(k['capital_relation'], k['capital_frequency'], 'word', 3)}, not counting single letters."),
        sentence(lambda k: f"I need {k['capital_relation']} {plural(k['capital_frequency'], 'word')} in uppercase from start to end, like WARNING; a single capital letter is not a word here."),
    ),
    heldout=(
        label(lambda k: f"{amount(k['capital_relation'], k['capital_frequency'], 'word', 1).capitalize()} fully in capitals (single letters not counted): that is the rule for emphasis."),
        verb(lambda k: f"Spell {amount(k['capital_relation'], k['capital_frequency'], 'word', 2)} entirely in capital letters, ignoring single letters like \"I\"."),
    ),
    check=lambda response, capital_relation, capital_frequency: compare(capital_words(response), capital_relation, capital_frequency),
    cues=lambda k: [r"capital|upper\s*-?\s*case|all[\s-]*caps", RELATION_CUES[k["capital_relation"]], number_cue(k["capital_frequency"])],
    conflicts=_others(CASE_IDS[2], "detectable_format:multiple_sections", "combination:repeat_prompt"),
)

TYPES = (LOWERCASE, CAPITALS, CAPITAL_WORDS)
