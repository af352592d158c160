"""Preference pairs in TRL's format: standard and conversational rows, round trips, and bad input."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from teamsrl_graph.common.errors import InputError
from teamsrl_graph.pit.preferences import Preference, as_preferences, read_preferences, write_preferences


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


GOOD = {"prompt": "Name a primary color.", "chosen": "Red is a primary color.", "rejected": "Green."}

# (row, the Preference it must become, without its id)
ROWS = {
    "standard": (GOOD, Preference("Name a primary color.", "Red is a primary color.", "Green.")),
    "standard with input and margin": (
        {"prompt": "Summarize the text.", "input": "  The meeting moved to Thursday. ", "chosen": "It is on Thursday.",
         "rejected": "A meeting.", "margin": 2},
        Preference("Summarize the text.\n\nThe meeting moved to Thursday.", "It is on Thursday.", "A meeting.", margin=2.0)),
    "conversational": (
        {"prompt": [{"role": "system", "content": "Be brief."}, user("What is 7 times 8?")],
         "chosen": [assistant("56")], "rejected": [assistant("54")]},
        Preference("Be brief.\n\nWhat is 7 times 8?", "56", "54")),
    "conversational, implicit prompt": (
        {"chosen": [user("Say hi in French."), assistant("Bonjour !")],
         "rejected": [user("Say hi in French."), assistant("Hello!")]},
        Preference("Say hi in French.", "Bonjour !", "Hello!")),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_rows_round_trip_through_a_file(tmp_path, name):
    row, expected = ROWS[name]
    path = tmp_path / "prefs.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps({**row, "id": "second"}) + "\n")
    first, second = read_preferences(path)
    digest = hashlib.sha256(f"{expected.prompt}\0{expected.chosen}\0{expected.rejected}".encode()).hexdigest()[:16]
    assert first == Preference(expected.prompt, expected.chosen, expected.rejected, digest, expected.margin)
    assert expected.id == digest  # a pair made in code without an id gets the same hashed id
    assert second.id == "second"
    written = write_preferences(tmp_path / "out" / "again.jsonl", [first, second])
    assert read_preferences(written) == [first, second]
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left behind
    assert as_preferences([row, {**row, "id": "second"}]) == [first, second]


def test_dicts_datasets_and_preferences_give_the_same_pairs(tmp_path):
    from datasets import Dataset

    rows = [{**GOOD, "id": "a"}, {**GOOD, "id": "b", "rejected": "Purple, maybe."}]
    from_rows = as_preferences(rows)
    assert as_preferences(Dataset.from_list(rows)) == from_rows
    assert as_preferences(from_rows) == from_rows
    assert from_rows[0].to_dict() == {"id": "a", **GOOD}  # no margin key when there is none


BAD = [
    ("missing field", {"prompt": "p", "chosen": "a"}, "rejected", "missing"),
    ("missing prompt", {"chosen": "a", "rejected": "b"}, "prompt", "missing"),
    ("wrong type", {**GOOD, "prompt": 3}, "prompt", "must be a string"),
    ("wrong type of message", {**GOOD, "chosen": [{"role": "assistant"}]}, "chosen", "must be a string"),
    ("no assistant message", {**GOOD, "rejected": [user("hi")]}, "rejected", "no assistant message"),
    ("empty chosen", {**GOOD, "chosen": "  \n "}, "chosen", "is empty"),
    ("chosen equals rejected", {**GOOD, "chosen": "Green. "}, "chosen", "identical to rejected"),
    ("input not a string", {**GOOD, "input": ["x"]}, "input", "must be a string"),
    ("margin not a number", {**GOOD, "margin": "high"}, "margin", "must be a number"),
    ("duplicate id", {**GOOD, "rejected": "Blue?", "id": "one"}, "id", "also on line 1"),
]


@pytest.mark.parametrize("row, field, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_rows_name_the_file_line_and_field(tmp_path, row, field, message):
    path = tmp_path / "prefs.jsonl"
    path.write_text(json.dumps({**GOOD, "id": "one"}) + "\n\n" + json.dumps(row) + "\n")
    with pytest.raises(InputError) as caught:
        read_preferences(path)
    error = caught.value
    assert (error.path, error.line, error.field) == (path, 3, field)
    assert f"{path}:3 field '{field}'" in str(error) and message in str(error)


def test_bad_json_and_empty_files(tmp_path):
    path = tmp_path / "prefs.jsonl"
    path.write_text(json.dumps(GOOD) + "\n{\"prompt\": \n")
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}:2: bad JSON"):
        read_preferences(path)
    path.write_text("\n  \n")
    with pytest.raises(InputError, match=rf"^{re.escape(str(path))}: the file has no preference pairs"):
        read_preferences(path)
    with pytest.raises(InputError, match="no such file"):
        read_preferences(tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match=r"^<rows>:2 field 'id': id '[0-9a-f]{16}' is also on line 1"):
        as_preferences([GOOD, GOOD])  # the same pair twice gets the same hashed id
