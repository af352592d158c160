"""The registry's repairs: an answer that misses a constraint, edited, passes it; the verifier
still decides, and types that would need new content are left failed."""

import pytest

from teamsrl_graph.constraints import TYPES, verify
from teamsrl_graph.constraints.repair import REPAIRS, repair

ANSWER = ("Tides rise and fall twice a day, and the Moon pulls the oceans toward it. The Sun adds a smaller pull. "
          "Coasts see high tide when the bulge passes. Really, the shape of a bay matters too. NASA measures them.")
TASK = "Explain how tides work."


def c(type_id, **kwargs):
    return {"id": type_id, "kwargs": kwargs}


REPAIRABLE = [
    [c("change_case:english_lowercase")],
    [c("change_case:english_capital")],
    [c("startend:quotation")],
    [c("startend:end_checker", end_phrase="Thanks for reading.")],
    [c("startend:first_word", first_word="Imagine")],
    [c("punctuation:no_comma")],
    [c("detectable_content:postscript", postscript_marker="P.P.S.")],
    [c("detectable_format:title")],
    [c("detectable_format:json_format")],
    [c("detectable_format:constrained_response")],
    [c("combination:repeat_prompt", prompt_to_repeat=TASK)],
    [c("keywords:existence", keywords=["lunar", "gravity"])],
    [c("keywords:forbidden_words", forbidden_words=["really", "sun"])],
    [c("detectable_content:number_placeholders", num_placeholders=3)],
    [c("detectable_format:number_bullet_lists", num_bullets=3)],
    [c("detectable_format:number_highlighted_sections", num_highlights=2)],
    [c("detectable_format:multiple_sections", section_spliter="SECTION", num_sections=2)],
    [c("length_constraints:number_paragraphs", relation="exactly", num_paragraphs=3)],
    [c("length_constraints:number_paragraphs", relation="at least", num_paragraphs=2)],
    [c("length_constraints:number_words", relation="at most", num_words=25)],
    [c("length_constraints:number_sentences", relation="exactly", num_sentences=2)],
    [c("change_case:capital_word_frequency", capital_relation="at most", capital_frequency=0)],
    # several at once: each edit in its place, later ones checked against the answer as edited
    [c("change_case:english_lowercase"), c("startend:end_checker", end_phrase="Thanks for reading."),
     c("detectable_content:postscript", postscript_marker="P.S.")],
    [c("startend:quotation"), c("change_case:english_capital"), c("punctuation:no_comma")],
    [c("keywords:existence", keywords=["Lunar"]), c("change_case:english_lowercase")],
    [c("detectable_format:title"), c("detectable_format:number_bullet_lists", num_bullets=2),
     c("startend:first_word", first_word="Today")],
]


@pytest.mark.parametrize("constraints", REPAIRABLE, ids=lambda cs: "+".join(x["id"].split(":")[1] for x in cs))
def test_a_failing_answer_is_edited_until_it_passes(constraints):
    assert not verify(ANSWER, constraints)["strict"]
    edited, repaired, verification = repair(ANSWER, constraints, TASK)
    assert verify(edited, constraints) == verification and verification["strict"]
    failing = {r["id"] for r in verify(ANSWER, constraints)["results"] if not r["strict"]}
    assert failing <= set(repaired) <= {x["id"] for x in constraints}


@pytest.mark.parametrize("constraints", [
    [c("length_constraints:number_words", relation="at least", num_words=400)],  # needs new content
    [c("keywords:frequency", keyword="moon", relation="at least", frequency=5)],  # no repair for this type
    [c("combination:two_responses")],
    [c("keywords:letter_frequency", letter="z", let_relation="at least", let_frequency=9)],
    [c("change_case:english_lowercase"), c("combination:two_responses")],  # one unrepairable type fails the lot
    [c("detectable_format:number_bullet_lists", num_bullets=40)],  # fewer sentences than bullets
    # each edit works, but the closing phrase takes the cut answer past the word limit: the verifier says no
    [c("length_constraints:number_words", relation="at most", num_words=22),
     c("startend:end_checker", end_phrase="Thanks for reading.")],
], ids=lambda cs: "+".join(x["id"].split(":")[1] for x in cs))
def test_what_an_edit_cannot_reach_stays_failed(constraints):
    assert repair(ANSWER, constraints, TASK) is None


def test_a_passing_or_empty_answer_is_not_touched():
    assert repair("tides rise twice a day.", [c("change_case:english_lowercase")], TASK) is None
    assert repair("   ", [c("change_case:english_lowercase")], TASK) is None
    assert repair(ANSWER, [], TASK) is None


def test_an_answer_with_two_verdicts_is_not_decided_by_an_edit():
    both = "My answer is yes. My answer is no."
    assert repair(both, [c("detectable_format:constrained_response")], TASK) is None


def test_a_repair_keeps_the_answer_it_edits():
    edited, _, _ = repair(ANSWER, [c("startend:end_checker", end_phrase="Thanks for reading.")], TASK)
    assert edited.startswith(ANSWER) and edited.endswith("Thanks for reading.")
    lowered, _, _ = repair(ANSWER, [c("change_case:english_lowercase")], TASK)
    assert lowered == ANSWER.lower()


def test_every_repair_names_a_registry_type():
    assert set(REPAIRS) <= set(TYPES)


def test_regrouped_bullets_keep_every_word_of_the_answer():
    listed = "* First point here.\n* Second point there.\n- Third one."
    edited, _, _ = repair(listed, [c("detectable_format:number_bullet_lists", num_bullets=2)], TASK)
    assert edited == "* First point here. Second point there.\n* Third one."
