import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teamsrl_graph.constraints import (
    CONFLICTS, TYPES, compatible, keywords, phrase, phrasings, sample_constraint, startend, stated, validate,
)
from teamsrl_graph.common.errors import InputError

INSTRUCTION = "Explain why the sky is blue."


def sample_set(seed: int, index: int, steps: int, instruction: str = INSTRUCTION) -> list[dict]:
    found = []
    for step in range(steps):
        constraint = sample_constraint(found, seed, index, step, instruction)
        if constraint is not None:
            found.append(constraint)
    return found


def test_sampling_is_deterministic_and_leaves_global_random_alone():
    random.seed(5)
    expected = random.random()
    random.seed(5)
    first = [sample_set(3, i, 4) for i in range(30)]
    assert random.random() == expected
    assert first == [sample_set(3, i, 4) for i in range(30)]
    assert first != [sample_set(4, i, 4) for i in range(30)]


def test_indices_and_steps_spread_over_many_types():
    drawn = {sample_constraint([], 0, index, 0, INSTRUCTION)["id"] for index in range(200)}
    assert len(drawn) >= 20
    by_step = {sample_constraint([], 0, 5, step, INSTRUCTION)["id"] for step in range(60)}
    assert len(by_step) >= 15


def test_every_type_can_be_drawn_and_its_kwargs_validate():
    seen = set()
    for index in range(400):
        for constraint in sample_set(1, index, 3):
            validate([constraint])
            seen.add(constraint["id"])
    assert seen == set(TYPES)


def test_repeat_prompt_needs_an_instruction():
    assert all(c["id"] != "combination:repeat_prompt" for i in range(300) for c in sample_set(2, i, 3, instruction=""))
    with_text = [c for i in range(300) for c in sample_set(2, i, 3) if c["id"] == "combination:repeat_prompt"]
    assert with_text and all(c["kwargs"] == {"prompt_to_repeat": INSTRUCTION} for c in with_text)


def test_forbidden_words_avoid_the_instruction_words():
    instruction = "Explain very simply why good things happen, basically."
    for index in range(200):
        for c in sample_set(9, index, 4, instruction):
            if c["id"] == "keywords:forbidden_words":
                assert not {"very", "simply", "good", "things", "basically"} & set(c["kwargs"]["forbidden_words"])


def test_keyword_pools_keep_combinations_satisfiable():
    assert not set(keywords.KEYWORDS) & set(keywords.FORBIDDEN)
    assert not [w for w in keywords.KEYWORDS if set(w) & set(keywords.RARE_LETTERS)]  # letter "at most" stays possible


def test_nothing_left_to_draw():
    everything = [{"id": type_id, "kwargs": {}} for type_id in TYPES]
    assert sample_constraint(everything, 0, 0, 0, INSTRUCTION) is None


def test_conflicts_are_symmetric_known_and_include_the_obvious_pairs():
    for a, others in CONFLICTS.items():
        assert others <= set(TYPES), f"{a} names unknown types"
        assert a not in others
        for b in others:
            assert a in CONFLICTS[b]
    for a, b in [
        ("change_case:english_lowercase", "change_case:english_capital"),
        ("change_case:english_lowercase", "change_case:capital_word_frequency"),
        ("change_case:english_capital", "change_case:capital_word_frequency"),
        ("detectable_format:json_format", "detectable_content:postscript"),
        ("detectable_format:json_format", "detectable_format:title"),
        ("detectable_format:json_format", "detectable_format:multiple_sections"),
        ("detectable_format:json_format", "detectable_format:number_bullet_lists"),
        ("combination:two_responses", "startend:end_checker"),
        ("combination:two_responses", "length_constraints:number_paragraphs"),
        ("combination:repeat_prompt", "startend:first_word"),
        ("combination:repeat_prompt", "change_case:english_lowercase"),
        ("startend:end_checker", "detectable_content:postscript"),
    ]:
        assert b in CONFLICTS[a] and not compatible(a, [{"id": b, "kwargs": {}}])


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32), index=st.integers(0, 10**6), steps=st.integers(1, 12), instruction=st.text(max_size=80))
def test_sampled_sets_have_no_conflicts_or_duplicates(seed, index, steps, instruction):
    found = sample_set(seed, index, steps, instruction)
    ids = [c["id"] for c in found]
    assert len(ids) == len(set(ids))
    for a, b in itertools.combinations(ids, 2):
        assert b not in CONFLICTS[a]
    validate(found)


def test_registry_phrasings_are_stated():
    for index in range(300):
        for constraint in sample_set(6, index, 4):
            for variant in range(len(TYPES[constraint["id"]].phrasings)):
                text = phrase(constraint, variant)
                assert stated(text, constraint), text
                assert stated(f"{INSTRUCTION} {text} Be concise.", constraint), text


# sentences and fragments worded as in the public IFEval benchmark; no phrasing may contain one
BENCHMARK_WORDING = (
    "Your entire response should be in English",
    "in all lowercase letters. No capital letters are allowed.",
    "in all capital letters.",
    "words with all capital letters should appear",
    "In your response, the word",
    "In your response, the letter",
    "Answer with at least", "Answer with at most", "Answer with less than",
    "Your response should contain",
    "Paragraphs are separated with the markdown divider",
    "separated by the markdown divider",
    "Finish your response with this exact phrase",
    "No other words should follow this phrase.",
    "At the end of your response, please explicitly add a postscript starting with",
    "in your answer with markdown, i.e. *highlighted section*",
    "Highlight at least",
    "wrapped in double angular brackets, such as <<poem of joy>>",
    "Your answer must contain a title",
    "Your answer must contain exactly",
    "Use the markdown bullet points such as",
    "Mark the beginning of each section with",
    "Your response must have",
    "Entire output should be wrapped in JSON format.",
    "You can use markdown ticks such as",
    "placeholders represented by square brackets, such as [address]",
    "Answer with one of the following options",
    "First repeat the request word for word without change",
    "the request you need to repeat does not include this sentence",
    "Responses and only responses should be separated by 6 asterisk symbols",
    "Wrap your entire response with double quotation marks.",
    "In your entire response, refrain from the use of any commas.",
    "Is there anything else I can help with?",
    "Any other questions?",
    "Let me know if you have additional questions.",
)


def benchmark_wording_in(text: str) -> list[str]:
    flat = " ".join(text.lower().split())
    return [s for s in BENCHMARK_WORDING if " ".join(s.lower().split()) in flat]


def test_no_phrasing_reuses_benchmark_wording():
    assert benchmark_wording_in("Please FINISH your response with this exact   phrase: Bye.")  # the guard finds a copy
    for type_id, constraint_type in sorted(TYPES.items()):
        for seed in range(5):
            kwargs = constraint_type.sample(random.Random(f"guard:{type_id}:{seed}"), INSTRUCTION)
            for split in ("train", "heldout"):
                for variant in range(len(phrasings(type_id, split))):
                    text = phrase({"id": type_id, "kwargs": kwargs}, variant, split)
                    assert benchmark_wording_in(text) == [], text
    assert [p for p in startend.END_PHRASES if benchmark_wording_in(p)] == []


def test_phrase_variants_wrap_around():
    constraint = {"id": "punctuation:no_comma", "kwargs": {}}
    count = len(TYPES[constraint["id"]].phrasings)
    assert phrase(constraint, 0) != phrase(constraint, 1) and phrase(constraint, count) == phrase(constraint, 0)


def test_a_plain_instruction_states_no_constraint():
    for index in range(300):
        for constraint in sample_set(8, index, 4):
            assert not stated(INSTRUCTION, constraint), constraint


def c(type_id, **kwargs):
    return {"id": type_id, "kwargs": kwargs}


@pytest.mark.parametrize(
    "instruction, constraint",
    [
        ("Explain tides. Answer with at least 30 words.", c("length_constraints:number_words", relation="at least", num_words=300)),
        ("Explain tides. Answer with at least 300 words.", c("length_constraints:number_words", relation="at least", num_words=30)),
        ("Explain tides. Answer with at most 300 words.", c("length_constraints:number_words", relation="at least", num_words=300)),
        ("Explain tides in 300 characters or more.", c("length_constraints:number_words", relation="at least", num_words=300)),
        ("Explain tides in exactly three paragraphs.", c("length_constraints:number_paragraphs", relation="exactly", num_paragraphs=3)),
        ("Write three sentences or fewer.", c("length_constraints:number_sentences", relation="at least", num_sentences=3)),
        ("Include the keywords 'garden' and 'rivers'.", c("keywords:existence", keywords=["garden", "river"])),
        ("Mention gardens.", c("keywords:existence", keywords=["garden"])),
        ("Use the words 'very' and 'stuff'.", c("keywords:forbidden_words", forbidden_words=["very"])),
        ("Use the word 'storm' at least twice.", c("keywords:frequency", keyword="storm", relation="at least", frequency=3)),
        ("Use the letter 'q' at most 2 times.", c("keywords:letter_frequency", letter="z", let_relation="at most", let_frequency=2)),
        ("Use a letter at most 2 times.", c("keywords:letter_frequency", letter="a", let_relation="at most", let_frequency=2)),
        ("Use capital letters at least 4 times.", c("change_case:capital_word_frequency", capital_relation="at least", capital_frequency=3)),
        ("Write it in lower detail.", c("change_case:english_lowercase")),
        ("Give your answer a title.", c("detectable_format:title")),
        ("Use exactly 4 bullet points.", c("detectable_format:number_bullet_lists", num_bullets=3)),
        ("Have 3 sections marked Section 1, Section 2.", c("detectable_format:multiple_sections", section_spliter="SECTION", num_sections=3)),
        ("Use 3 sections marked PART 1, PART 2.", c("detectable_format:multiple_sections", section_spliter="SECTION", num_sections=3)),
        ("Add a postscript starting with P.S.", c("detectable_content:postscript", postscript_marker="P.P.S.")),
        ("End your answer with 'Any questions?'", c("startend:end_checker", end_phrase="Any other questions?")),
        ("Start your answer with the word Imagined.", c("startend:first_word", first_word="Imagine")),
        ("Use commas generously.", c("punctuation:no_comma")),
        ("Write two responses.", c("combination:two_responses")),
        ("Separate paragraphs with a blank line; write 3 paragraphs.", c("length_constraints:number_paragraphs", relation="exactly", num_paragraphs=3)),
    ],
)
def test_dropped_or_garbled_requirements_are_not_stated(instruction, constraint):
    assert not stated(instruction, constraint)


@pytest.mark.parametrize(
    "instruction, constraint",
    [
        ("Explain tides in no fewer than 300 words.", c("length_constraints:number_words", relation="at least", num_words=300)),
        ("Explain tides in three paragraphs exactly, divided by ***.", c("length_constraints:number_paragraphs", relation="exactly", num_paragraphs=3)),
        ("Use 'storm' at least twice.", c("keywords:frequency", keyword="storm", relation="at least", frequency=2)),
        ("Write everything in UPPERCASE.", c("change_case:english_capital")),
        ("Never use a comma.", c("punctuation:no_comma")),
    ],
)
def test_rewordings_that_keep_the_requirement_are_stated(instruction, constraint):
    assert stated(instruction, constraint)


@pytest.mark.parametrize(
    "constraints, field",
    [
        ({"id": "punctuation:no_comma"}, "constraints"),
        (["punctuation:no_comma"], "constraints[0]"),
        ([c("punctuation:no_comma"), {"id": "no_such:type", "kwargs": {}}], "constraints[1].id"),
        ([{"id": "punctuation:no_comma", "kwargs": {}, "note": 1}], "constraints[0].note"),
        ([{"id": "detectable_format:title", "kwargs": []}], "constraints[0].kwargs"),
        ([c("length_constraints:number_words", relation="at least")], "constraints[0].kwargs.num_words"),
        ([c("length_constraints:number_words", relation="at least", num_words=5, extra=1)], "constraints[0].kwargs.extra"),
        ([c("length_constraints:number_words", relation="at least", num_words="5")], "constraints[0].kwargs.num_words"),
        ([c("length_constraints:number_words", relation="at least", num_words=True)], "constraints[0].kwargs.num_words"),
        ([c("length_constraints:number_words", relation="at least", num_words=0)], "constraints[0].kwargs.num_words"),
        ([c("length_constraints:number_words", relation="less than", num_words=5)], "constraints[0].kwargs.relation"),
        ([c("keywords:existence", keywords=[])], "constraints[0].kwargs.keywords"),
        ([c("keywords:existence", keywords=["ok", ""])], "constraints[0].kwargs.keywords"),
        ([c("keywords:letter_frequency", letter="ab", let_relation="at least", let_frequency=3)], "constraints[0].kwargs.letter"),
        ([c("startend:end_checker", end_phrase="  ")], "constraints[0].kwargs.end_phrase"),
    ],
)
def test_validate_names_path_line_and_field(constraints, field):
    with pytest.raises(InputError) as caught:
        validate(constraints, path="records.jsonl", line=7)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"records.jsonl:7 field '{field}': ")


def test_validate_accepts_good_constraints():
    validate([c("length_constraints:number_words", relation="exactly", num_words=40), c("keywords:existence", keywords=["a b"]),
              c("detectable_format:title")])
