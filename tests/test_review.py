import math

import pytest

from teamsrl_graph.running.budget import count_tokens
from teamsrl_graph.evolve.review import check_answer, check_instruction, clean_rewrite, gain_probability, judge, parse_judgement


@pytest.mark.parametrize(
    "reply, prefill, expected",
    [
        ("Explain tides in 3 sentences.", "", "Explain tides in 3 sentences."),
        ("Here's a rewritten version of the prompt: Explain tides.", "", "Explain tides."),
        ("Sure! Here is the rewritten instruction:\n\n\"Explain tides.\"", "", "Explain tides."),
        ("#Rewritten Prompt#: Explain tides.", "", "Explain tides."),
        ("Rewritten prompt: 'Explain tides to a child.'", "", "Explain tides to a child."),
        (" be under 50 words.\n\nTides are caused by...", "Explain tides. Your answer must", "Explain tides. Your answer must be under 50 words."),
        (" the role of the sun.\nNote: this adds depth.", "Explain tides. Also explain", "Explain tides. Also explain the role of the sun."),
        ("  Explain   tides\n  in detail. ", "", "Explain tides in detail."),
        ("", "", ""),
        ("\n\nWrite about tides.\nMore.", "New task:", "Write about tides."),
        ("Here is the rewritten prompt:", "", ""),
    ],
)
def test_clean_rewrite(reply, prefill, expected):
    assert clean_rewrite(reply, prefill=prefill) == expected


@pytest.mark.parametrize(
    "new, op, reason",
    [
        ("", "deepen", "empty"),
        ("Explain tides!", "deepen", "no_gain"),
        ("Explain tides. #Rewritten Prompt# more", "deepen", "template_copy"),
        ("Rewrite the given prompt about tides.", "deepen", "template_copy"),
        ("Explain tides. Also explain how to make this task more creative.", "deepen", "template_copy"),
        ("Explain tides. Also explain why this matters in your role as an editor.", "deepen", "template_copy"),
        ("Sure, tides are caused by the moon.", "deepen", "answered_not_rewritten"),
        ("Tides " + "are water moving " * 40, "deepen", "answered_not_rewritten"),
        ("Write a poem about cheese.", "deepen", "off_topic"),
    ],
)
def test_rule_four_and_free_rule_one(new, op, reason):
    verdict = check_instruction("Explain tides.", new, op)
    assert verdict is not None and not verdict.accepted and verdict.reason == reason and verdict.score == 0


@pytest.mark.parametrize(
    "old, new, op",
    [
        ("Explain tides.", "Explain tides and the role of the sun.", "deepen"),
        ("Explain tides.", "Write a poem about cheese.", "breadth"),
        ("Summarise the task list.", "Summarise the task list in three bullets.", "add_constraints"),  # already said
    ],
)
def test_plausible_rewrites_go_to_the_reviewer(old, new, op):
    assert check_instruction(old, new, op) is None


PLAN = ("Start by listing what the trip must cover, then book the train early because fares rise. Pack light: "
        "two shirts, a rain jacket and comfortable shoes. On the first day walk the old town, visit the market "
        "before noon and rest in the afternoon. The second day suits a museum, a river cruise and dinner near the "
        "harbour. Keep copies of your tickets on your phone and on paper, and check the weather each evening. "
        "Leave a free morning at the end for anything you missed.")
SONG = "\n".join([
    "Verse one: boats come home.", "Oh the tide, the tide, it carries us home tonight.",
    "Verse two: gulls fall silent.", "Oh the tide, the tide, it carries us home tonight.",
    "Bridge: we mend the nets.", "Oh the tide, the tide, it carries us home tonight.",
    "Verse three: dawn calls again.", "Oh the tide, the tide, it carries us home tonight.",
])  # the refrain is half the song
LIST = "\n".join(f"{i}. Add the {item} to the bowl and stir for {i} minutes." for i, item in
                 enumerate(["flour", "sugar", "butter", "eggs", "milk", "vanilla", "salt", "cocoa"], 1))
CODE = "def total(rows):\n    s = 0\n" + "".join(f"    s += rows[{i}]  # column {i}\n" for i in range(12)) + "    return s\n"


@pytest.mark.parametrize(
    "answer, reason",
    [
        ("", "empty_answer"),
        ("I'm sorry, I can't help with that.", "refusal"),
        ("As an AI, I cannot do that.", "refusal"),
        ("the and of it ... !", "stop_words_only"),
        ("Tides come from the moon's gravity.", None),
        ("Sorry to hear that! " + PLAN, None),
        ("Tides rise and fall. " * 5000, "oversize_answer"),
        (" ".join(f"w{i}" for i in range(3000)), "oversize_answer"),  # over 4 x the default cap of 1024
        ("The answer is yes. " * 20, "repetitive_answer"),
        ("I like it a lot\n" * 30, "repetitive_answer"),
        ("ha " * 60, "repetitive_answer"),
        (PLAN + " and then we go back and then we go back" * 12, "repetitive_answer"),  # a loop at the end
        (SONG, None),  # a refrain four times
        (LIST, None),  # items sharing a pattern
        (CODE, None),
    ],
)
def test_rules_two_and_three(answer, reason):
    assert check_answer(answer) == reason


@pytest.mark.parametrize(
    "tokens, cap, reason",
    [(256, 64, None), (258, 64, "oversize_answer"), (1000, 256, None), (1998, None, None), (1998, 1024, None),
     (1998, 256, "oversize_answer")],
)
def test_an_answer_far_beyond_its_token_cap_is_eliminated(tokens, cap, reason):
    answer = " ".join(f"w{i}" for i in range(tokens // 2))  # two cl100k tokens a word (below w1000)
    assert count_tokens(answer) == tokens
    assert check_answer(answer, max_tokens=cap) == reason


def test_no_cap_means_no_length_rule():
    assert check_answer(" ".join(f"w{i}" for i in range(3000)), max_tokens=None) is None


@pytest.mark.parametrize(
    "text, expected",
    [(" Yes.", True), ("Not equal", True), ("no", False), ("Equal.", False), ("The first instruction", None)],
)
def test_parse_judgement(text, expected):
    assert parse_judgement(text) is expected


def test_gain_probability_normalises_yes_against_no():
    top = [{"token": " Yes", "logprob": math.log(0.2)}, {"token": " No", "logprob": math.log(0.6)},
           {"token": "yes", "logprob": math.log(0.1)}, {"token": " The", "logprob": math.log(0.1)}]
    assert gain_probability(top) == pytest.approx(0.3 / 0.9)
    assert gain_probability([{"token": " The", "logprob": 0.0}]) is None
    assert gain_probability(None) is None


def test_judge_scores_accepted_gains_by_new_content():
    small = judge("Explain tides.", "Explain tides briefly.", True)
    large = judge("Explain tides.", "Explain tides, the sun's role, spring and neap cycles, and two coastal examples.", True)
    assert small.accepted and large.accepted and 0.5 < small.score < large.score <= 1.0
    assert judge("a", "b", False).reason == "no_gain"
    assert judge("a", "b", None).reason == "unreadable_review"


@pytest.mark.parametrize("op, question", [
    ("breadth", "Is the new task a different task on the same topic"),
    ("deepen", "Is the new instruction harder to answer than the old one"),
    ("add_constraints", "Is the new instruction harder to answer than the old one"),
])
def test_each_operation_is_judged_by_what_it_is_for(make_context, op, question):
    """Breadth is asked whether it made a new task on the topic, the in-depth operations whether they gained."""
    from teamsrl_graph.evolve.resources import resources
    from teamsrl_graph.evolve.steps import review

    asked = []
    ctx = make_context(reviewer=lambda prompt: asked.append(prompt) or "Yes")
    budget = resources(ctx).budget
    budget.reserve(1)
    verdict, queries = review(ctx, "Write a haiku about autumn.", "Write a limerick about autumn rain at night.", op)
    assert queries == 1 and len(asked) == 1 and question in asked[0] and verdict.accepted
    assert ("Old task: Write a haiku about autumn." if op == "breadth" else "Old: Write a haiku about autumn.") in asked[0]
