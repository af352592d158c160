"""Length constraints: how many words, sentences or ***-separated paragraphs an answer has.

Words and sentences are counted with `text.words` / `text.sentences`. Sampled bounds stay in
ranges that can all hold at once (e.g. at most 100 words still fits 8 sentences in 5 paragraphs).
"""

from __future__ import annotations

import re

from .base import RELATION_CUES, RELATIONS, ConstraintType, Param, amount, compare, label, number_cue, plural, sentence, verb
from .text import sentences, words

PARAGRAPH_SEPARATOR = r"\s*\n?\s*\*\*\*+\s*\n?\s*"


def _sampler(key: str, ranges: dict):
    """kwargs {"relation", key}: a relation from `ranges`, then a number from its (low, high, step)."""

    def sample(rng, _instruction):
        relation = rng.choice(sorted(ranges))
        low, high, step = ranges[relation]
        return {"relation": relation, key: rng.randrange(low, high + 1, step)}

    return sample


def count_paragraphs(response: str) -> int | None:
    """Paragraphs separated by the markdown divider ***; None when one of them is empty."""
    parts = [p.strip() for p in re.split(PARAGRAPH_SEPARATOR, response.strip())]
    return None if any(not p for p in parts) else len(parts)


def _check_paragraphs(response: str, relation: str, num_paragraphs: int) -> bool:
    count = count_paragraphs(response)
    return count is not None and compare(count, relation, num_paragraphs)


def _cues(unit: str, key: str):
    return lambda k: [unit, RELATION_CUES[k["relation"]], number_cue(k[key])]


WORD_COUNT = ConstraintType(
    id="length_constraints:number_words",
    params={"relation": Param(str, choices=RELATIONS), "num_words": Param(int, 1, 2000)},
    sample=_sampler("num_words", {"at least": (50, 300, 25), "at most": (100, 400, 25)}),
    phrasings=(
        verb(lambda k: f"Make your reply {k['relation']} {plural(k['num_words'], 'word')} long."),
        sentence(lambda k: f"The length of the reply must be {k['relation']} {plural(k['num_words'], 'word')}."),
        verb(lambda k: f"Please write {amount(k['relation'], k['num_words'], 'word', 1)} in the reply."),
        sentence(lambda k: f"Your answer should run {amount(k['relation'], k['num_words'], 'word', 2)}."),
        label(lambda k: f"Word count: {amount(k['relation'], k['num_words'], 'word', 3)}."),
        sentence(lambda k: f"I need {amount(k['relation'], k['num_words'], 'word')} in the reply, counted as whole words."),
    ),
    heldout=(
        label(lambda k: f"{amount(k['relation'], k['num_words'], 'word', 1).capitalize()}: that is the length I expect."),
        verb(lambda k: f"Write {amount(k['relation'], k['num_words'], 'word', 2)} in total."),
    ),
    check=lambda response, relation, num_words: compare(len(words(response)), relation, num_words),
    cues=_cues(r"\bwords?\b", "num_words"),
)

SENTENCE_COUNT = ConstraintType(
    id="length_constraints:number_sentences",
    params={"relation": Param(str, choices=RELATIONS), "num_sentences": Param(int, 1, 200)},
    sample=_sampler("num_sentences", {"at least": (2, 8, 1), "at most": (5, 15, 1), "exactly": (3, 6, 1)}),
    phrasings=(
        verb(lambda k: f"Use {k['relation']} {plural(k['num_sentences'], 'sentence')} in your reply."),
        sentence(lambda k: f"Your reply should consist of {k['relation']} {plural(k['num_sentences'], 'sentence')}."),
        verb(lambda k: f"Please answer in {amount(k['relation'], k['num_sentences'], 'sentence', 1)}."),
        label(lambda k: f"Sentence count: {amount(k['relation'], k['num_sentences'], 'sentence', 2)}."),
        sentence(lambda k: f"I want the answer to have {amount(k['relation'], k['num_sentences'], 'sentence', 3)}."),
        verb(lambda k: f"Express everything in {amount(k['relation'], k['num_sentences'], 'sentence')}, each ending with a full stop, question mark or exclamation mark."),
    ),
    heldout=(
        label(lambda k: f"{amount(k['relation'], k['num_sentences'], 'sentence', 2).capitalize()}, please."),
        sentence(lambda k: f"The whole response ought to contain {amount(k['relation'], k['num_sentences'], 'sentence', 1)}."),
    ),
    check=lambda response, relation, num_sentences: compare(len(sentences(response)), relation, num_sentences),
    cues=_cues(r"\bsentences?\b", "num_sentences"),
    conflicts=frozenset({"detectable_format:multiple_sections"}),  # each SECTION header line counts as a sentence
)

PARAGRAPH_COUNT = ConstraintType(
    id="length_constraints:number_paragraphs",
    params={"relation": Param(str, choices=RELATIONS), "num_paragraphs": Param(int, 1, 50)},
    sample=_sampler("num_paragraphs", {"at least": (2, 4, 1), "at most": (3, 6, 1), "exactly": (2, 5, 1)}),
    phrasings=(
        verb(lambda k: f"Split the reply into {k['relation']} {plural(k['num_paragraphs'], 'paragraph')}, with *** placed between each paragraph and the next."),
        verb(lambda k: f"Organize your reply as {k['relation']} {plural(k['num_paragraphs'], 'paragraph')}; a line of *** must divide neighbouring paragraphs."),
        verb(lambda k: f"Please write {amount(k['relation'], k['num_paragraphs'], 'paragraph', 1)}, putting a line with only *** between consecutive ones."),
        sentence(lambda k: f"Your answer should have {amount(k['relation'], k['num_paragraphs'], 'paragraph', 2)}, separated from each other by ***."),
        label(lambda k: f"Paragraphs: {amount(k['relation'], k['num_paragraphs'], 'paragraph', 3).rsplit(' ', 1)[0]}, with *** on a line between them."),
        sentence(lambda k: f"I need {amount(k['relation'], k['num_paragraphs'], 'paragraph')} in the reply, and each paragraph break must be a line of *** rather than a blank line."),
    ),
    heldout=(
        label(lambda k: f"{amount(k['relation'], k['num_paragraphs'], 'paragraph', 1).capitalize()}, divided by ***: that is the layout I expect."),
        verb(lambda k: f"Break your text into {amount(k['relation'], k['num_paragraphs'], 'paragraph', 2)} and mark every break between them with ***."),
    ),
    check=_check_paragraphs,
    cues=lambda k: [r"\bparagraphs?\b", r"\*\*\*", RELATION_CUES[k["relation"]], number_cue(k["num_paragraphs"])],
    conflicts=frozenset({"combination:two_responses", "detectable_format:json_format", "detectable_format:multiple_sections"}),
)

TYPES = (WORD_COUNT, SENTENCE_COUNT, PARAGRAPH_COUNT)
