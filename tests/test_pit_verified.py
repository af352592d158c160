"""PIT's verified preferences: answers ranked by constraint compliance first, then by rating."""

from __future__ import annotations

import json

import pytest

from teamsrl_graph.running.budget import Budget
from teamsrl_graph.cli import main
from teamsrl_graph.pit.collect import collect_preferences, compliance, compliance_pair, ranked_pair

NO_COMMA = {"id": "punctuation:no_comma", "kwargs": {}}
LOWER = {"id": "change_case:english_lowercase", "kwargs": {}}
BOTH = [NO_COMMA, LOWER]
REVIEWER_ONLY = {"reviewer": 1.0, "relevance": 0.0, "fluency": 0.0}


@pytest.mark.parametrize("answer, share", [
    ("tides come from the moon.", 1.0), ("Tides come from the moon.", 0.5), ("Tides, moon.", 0.0),
])
def test_compliance_gives_partial_credit_per_constraint(answer, share):
    assert compliance(answer, BOTH) == share
    assert compliance(answer, []) == 0.0


# (usable answers, their ratings, failed answers, constraints, min_margin) -> (chosen, rejected, margin, by compliance) or None
CASES = [
    # compliance outranks a much better rating
    ((["tides come from the moon.", "Tides, moon."], [0.1, 0.9], [], BOTH, 0.05),
     ("tides come from the moon.", "Tides, moon.", 1.0, True)),
    # partial credit: half beats none; the fully compliant one beats both
    ((["Tides come from the moon.", "Tides, moon.", "tides rise and fall."], [0.5, 0.5, 0.0], [], BOTH, 0.05),
     ("tides rise and fall.", "Tides, moon.", 1.0, True)),
    ((["Tides come from the moon.", "Tides, moon."], [0.2, 0.9], [], BOTH, 0.05),
     ("Tides come from the moon.", "Tides, moon.", 0.5, True)),
    # equal compliance: the rating decides and must clear the margin
    ((["tides rise.", "tides fall."], [0.8, 0.3], [], BOTH, 0.05), ("tides rise.", "tides fall.", 0.5, False)),
    ((["tides rise.", "tides fall."], [0.8, 0.78], [], BOTH, 0.05), None),
    # no constraints: the rating alone, as before
    ((["A, b.", "C d."], [0.2, 0.7], [], [], 0.05), ("C d.", "A, b.", 0.5, False)),
    # a failed answer complies with nothing and is rejected only when no second usable answer exists
    ((["Tides, moon."], [0.6], [""], BOTH, 0.05), ("Tides, moon.", "", 0.6, False)),
    ((["Tides, moon.", "tides."], [0.6, 0.9], [""], BOTH, 0.05), ("tides.", "Tides, moon.", 1.0, True)),
    # nothing usable, or a single answer: no pair
    (([], [], ["", "I cannot help."], BOTH, 0.05), None),
    ((["tides."], [0.9], [], BOTH, 0.05), None),
]


@pytest.mark.parametrize("args, expected", CASES)
def test_verified_ranking_of_hand_made_answers(args, expected):
    assert ranked_pair(*args) == expected


@pytest.mark.parametrize("answers, expected", [
    # compliance decides; among equally compliant answers the more fluent one is chosen
    (["Tides, moon.", "tides rise tides rise tides rise tides rise.", "tides follow the moon."],
     ("tides follow the moon.", "Tides, moon.", 1.0)),
    (["tides follow the moon.", "tides follow the moon.", "Tides, moon."], ("tides follow the moon.", "Tides, moon.", 1.0)),
    (["Tides come from the moon.", "Tides, moon."], ("Tides come from the moon.", "Tides, moon.", 0.5)),
    # compliance cannot tell them apart (however different their fluency): no pair, no model asked
    (["tides rise.", "tides rise tides rise tides rise tides rise."], None),
    (["Tides, moon.", "Tides, sun."], None),
    (["tides.", "tides."], None),  # one distinct answer
])
def test_compliance_pairs_from_answers_already_sampled(answers, expected):
    pair = compliance_pair("Explain tides.", answers, BOTH, id="7")
    assert (pair and (pair.chosen, pair.rejected, pair.margin)) == expected
    if pair:
        assert (pair.prompt, pair.id) == ("Explain tides.", "7")


def test_collect_prefers_the_compliant_answer_over_the_reviewer(make_context):
    """The reviewer likes the capitalized answers; the record's constraints want lowercase without commas."""
    answers = iter(["Tides, moon and sun.", "tides follow the moon.", "Tides follow the moon."] * 2)
    ctx = make_context(responder=lambda prompt: next(answers), reviewer=lambda p: "Yes" if "Tides" in p else "No",
                       budget=Budget())
    record = {"id": "t", "instruction": "Explain tides. Write the reply without any commas. Put every letter of "
              "your reply in lowercase.", "constraints": BOTH}
    collected = collect_preferences([record, {**record, "id": "u", "constraints": []}], ctx, samples=3, concurrency=1,
                                    progress=False, weights=REVIEWER_ONLY)
    verified, plain = collected.preferences
    assert (verified.chosen, verified.rejected, verified.margin) == ("tides follow the moon.", "Tides, moon and sun.", 1.0)
    assert plain.chosen.startswith("Tides") and plain.rejected == "tides follow the moon."  # the reviewer's order
    assert collected.summary()["by_compliance"] == 1


def test_pit_prefs_cli_rejects_bad_constraints(tmp_path, capsys):
    data = tmp_path / "dataset.jsonl"
    rows = [{"instruction": "Say hi.", "constraints": [NO_COMMA]},
            {"instruction": "Say bye.", "constraints": [{"id": "length_constraints:number_words", "kwargs": {}}]}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["pit", "prefs", "--data", str(data), "--out", str(tmp_path / "p.jsonl")]) == 2
    err = capsys.readouterr().err
    assert f"{data}:2" in err and "constraints[0].kwargs.relation" in err
