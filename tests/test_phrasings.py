"""Every phrasing of every type states its constraint, and no longer does once a number, a word,
a relation or a marker in the constraint changes; the splits are disjoint and big enough."""

import random

import pytest

from teamsrl_graph.constraints import SPLITS, TYPES, phrase, phrasing_counts, phrasings, stated
from teamsrl_graph.constraints.base import FORMS, RELATIONS
from teamsrl_graph.constraints.keywords import FORBIDDEN, KEYWORDS
from teamsrl_graph.constraints.startend import END_PHRASES, FIRST_WORDS

TASK = "Describe how tides form."
OTHER = {  # a value that differs from v, per closed-choice or word parameter
    "relation": lambda v: [r for r in RELATIONS if r != v],
    "letter": lambda v: ["b" if v != "b" else "k"],
    "section_spliter": lambda v: ["PART" if v == "SECTION" else "SECTION"],
    "postscript_marker": lambda v: ["P.P.S." if v == "P.S." else "P.S."],
    "keyword": lambda v: [next(w for w in KEYWORDS if w != v)],
    "end_phrase": lambda v: [next(p for p in END_PHRASES if p != v)],
    "first_word": lambda v: [next(w for w in FIRST_WORDS if w != v)],
}


def samples(type_id, count=12):
    """`count` kwargs of `type_id`, drawn for TASK."""
    found = []
    for seed in range(count):
        kwargs = TYPES[type_id].sample(random.Random(f"phrasings:{type_id}:{seed}"), TASK)
        found.append(kwargs)
    return found


def changed(kwargs: dict):
    """Copies of `kwargs` with one requirement changed: another number, relation, word or marker."""
    for key, value in kwargs.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            yield {**kwargs, key: value + 11}
        elif isinstance(value, list):
            pool = KEYWORDS if key == "keywords" else FORBIDDEN
            spare = [w for w in pool if w not in value]
            for index in range(len(value)):
                yield {**kwargs, key: value[:index] + [spare[index]] + value[index + 1:]}
        elif key.endswith("relation"):
            for other in OTHER["relation"](value):
                yield {**kwargs, key: other}
        elif key in OTHER:
            for other in OTHER[key](value):
                yield {**kwargs, key: other}


ALL = [(type_id, split) for type_id in sorted(TYPES) for split in SPLITS]


def test_every_type_has_eight_phrasings_two_held_out():
    counts = phrasing_counts()
    assert len(counts) == 24
    for type_id, count in counts.items():
        assert count["train"] >= 2 and count["heldout"] >= 2 and count["train"] + count["heldout"] >= 8, type_id
        for split in SPLITS:
            assert {p.form for p in phrasings(type_id, split)} <= set(FORMS)


@pytest.mark.parametrize("type_id, split", ALL)
def test_every_phrasing_is_stated_alone_and_inside_a_task(type_id, split):
    for kwargs in samples(type_id):
        for variant in range(len(phrasings(type_id, split))):
            text = phrase({"id": type_id, "kwargs": kwargs}, variant, split)
            assert stated(text, {"id": type_id, "kwargs": kwargs}), text
            assert stated(f"{TASK} {text} Keep it friendly.", {"id": type_id, "kwargs": kwargs}), text


@pytest.mark.parametrize("type_id, split", ALL)
def test_a_changed_requirement_is_not_stated(type_id, split):
    tried = 0
    for kwargs in samples(type_id):
        for variant in range(len(phrasings(type_id, split))):
            text = phrase({"id": type_id, "kwargs": kwargs}, variant, split)
            for other in changed(kwargs):
                tried += 1
                assert not stated(text, {"id": type_id, "kwargs": other}), (text, other)
    assert tried or not TYPES[type_id].params or type_id == "combination:repeat_prompt"


@pytest.mark.parametrize("type_id", sorted(TYPES))
def test_splits_share_no_sentence_and_phrasings_differ(type_id):
    for kwargs in samples(type_id, 4):
        texts = {split: [phrase({"id": type_id, "kwargs": kwargs}, v, split) for v in range(len(phrasings(type_id, split)))]
                 for split in SPLITS}
        everything = texts["train"] + texts["heldout"]
        assert len(set(everything)) == len(everything)
        openings = [" ".join(t.split()[:2]).lower() for t in everything]
        assert len(set(openings)) >= len(everything) - 1, openings  # word order varies, not just a word or two


def test_phrase_keeps_the_registry_default_and_rejects_unknown_splits():
    constraint = {"id": "punctuation:no_comma", "kwargs": {}}
    assert phrase(constraint) == "Write the reply without any commas."
    assert phrase(constraint, len(phrasings(constraint["id"]))) == phrase(constraint, 0)
    assert phrase(constraint, 0, "heldout") != phrase(constraint, 0)
    with pytest.raises(ValueError, match="split"):
        phrase(constraint, 0, "test")
    with pytest.raises(ValueError, match="unknown constraint id 'nope'"):
        phrase({"id": "nope", "kwargs": {}})


@pytest.mark.parametrize(
    "text, constraint, expected",
    [
        ("Write no more than 200 words.", {"id": "length_constraints:number_words", "kwargs": {"relation": "at least", "num_words": 200}}, False),
        ("Write no more than 200 words.", {"id": "length_constraints:number_words", "kwargs": {"relation": "at most", "num_words": 200}}, True),
        ("Use no fewer than 4 sentences.", {"id": "length_constraints:number_sentences", "kwargs": {"relation": "at most", "num_sentences": 4}}, False),
        ("Use no fewer than 4 sentences.", {"id": "length_constraints:number_sentences", "kwargs": {"relation": "at least", "num_sentences": 4}}, True),
        ("Overall, write 80 words.", {"id": "length_constraints:number_words", "kwargs": {"relation": "at least", "num_words": 80}}, False),
        ("End with a P.P.S. line.", {"id": "detectable_content:postscript", "kwargs": {"postscript_marker": "P.S."}}, False),
        ("End with a P.P.S. line.", {"id": "detectable_content:postscript", "kwargs": {"postscript_marker": "P.P.S."}}, True),
        ("Use headers SECTION 1, SECTION 2 and SECTION 3.", {"id": "detectable_format:multiple_sections", "kwargs": {"section_spliter": "SECTION", "num_sections": 2}}, False),
        ("Use exactly 3 sections: SECTION 1, SECTION 2 and SECTION 3.", {"id": "detectable_format:multiple_sections", "kwargs": {"section_spliter": "SECTION", "num_sections": 3}}, True),
        ("Use 4 All-caps words at least.", {"id": "change_case:capital_word_frequency", "kwargs": {"capital_relation": "at least", "capital_frequency": 4}}, True),
        ("Copy out the question above word for word first.", {"id": "combination:repeat_prompt", "kwargs": {"prompt_to_repeat": "x"}}, True),
        ("The words 'very' and 'stuff' are off-limits.", {"id": "keywords:forbidden_words", "kwargs": {"forbidden_words": ["very"]}}, True),
        ("The words 'very' and 'stuff' are welcome.", {"id": "keywords:forbidden_words", "kwargs": {"forbidden_words": ["very"]}}, False),
    ],
)
def test_relation_marker_and_count_cues(text, constraint, expected):
    assert stated(text, constraint) is expected
