"""Preference pairs (an instruction, a better and a worse response) in TRL's preference format.

A file is JSON lines with `prompt`, `chosen` and `rejected`, in either of TRL's forms:

- standard: all three are strings;
- conversational: `prompt` is a list of `{"role", "content"}` messages (the text of its user and
  system messages, joined by a blank line, becomes the prompt) and `chosen` / `rejected` are lists of
  messages whose last assistant message is the response. With no `prompt` at all (TRL's "implicit
  prompt"), the messages of `chosen` before its last assistant message are the prompt.

Optional fields: `input` (Alpaca style, appended to the prompt after a blank line), `id` (else a
hash of the pair) and `margin` (a number: how much better `chosen` was rated). Texts are stripped.
A missing field, a wrong type, an empty text, `chosen` equal to `rejected`, a repeated id or a file
with no pairs is an `InputError` naming the file, line and field. This module reads, checks and
writes pairs; it does not tokenize and does not split (use `records.split_heldout`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ..common.errors import InputError
from ..common.files import read_objects
from ..common.files import write_jsonl


@dataclass(frozen=True)
class Preference:
    prompt: str  # the instruction as plain text (instruction + "\n\n" + input when there is an input)
    chosen: str  # the better response
    rejected: str  # the worse response
    id: str = ""  # stable id: the row's "id" if given, else sha256(prompt\0chosen\0rejected)[:16]
    margin: float | None = None  # how much better chosen was rated, when a rater made the pair

    def __post_init__(self):
        if not self.id:
            object.__setattr__(self, "id", pair_id(self.prompt, self.chosen, self.rejected))

    def to_dict(self) -> dict:
        row = {"id": self.id, "prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected}
        return row if self.margin is None else {**row, "margin": self.margin}


def pair_id(prompt: str, chosen: str, rejected: str) -> str:
    """The id of a pair given without one: 16 hex digits of the sha256 of its three texts (NUL-separated)."""
    return hashlib.sha256(f"{prompt}\0{chosen}\0{rejected}".encode("utf-8")).hexdigest()[:16]


def read_preferences(path: str | Path) -> list[Preference]:
    """The pairs of a JSON-lines file, checked (see the module docstring)."""
    return checked(read_objects(path), path)


def write_preferences(path: str | Path, prefs: list[Preference]) -> Path:
    """Write pairs as JSON lines (temporary name, then rename); `read_preferences` reads them back."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_jsonl(path, [p.to_dict() for p in prefs])


def as_preferences(rows, source: str = "<rows>") -> list[Preference]:
    """Pairs from dicts, a `datasets.Dataset` or `Preference`s, with the checks of `read_preferences`.

    Rows are numbered from 1 in errors, as lines of `source`.
    """
    if hasattr(rows, "to_list"):  # a datasets.Dataset
        rows = rows.to_list()
    rows = [r.to_dict() if isinstance(r, Preference) else r for r in rows]
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise InputError(f"expected an object, got {type(row).__name__}", path=source, line=number)
    return checked(list(enumerate(rows, 1)), source)


def checked(numbered: list[tuple[int, dict]], source) -> list[Preference]:
    """Preferences of (line number, row) pairs; no pairs or a repeated id is an `InputError`."""
    if not numbered:
        raise InputError("the file has no preference pairs", path=source)
    prefs, seen = [], {}
    for line, row in numbered:
        pref = parse_row(row, source, line)
        if pref.id in seen:
            raise InputError(f"id {pref.id!r} is also on line {seen[pref.id]}", path=source, line=line, field="id")
        seen[pref.id] = line
        prefs.append(pref)
    return prefs


def parse_row(row: dict, source, line: int) -> Preference:
    def fail(message, field):
        raise InputError(message, path=source, line=line, field=field)

    def response(field) -> str:
        value = row.get(field)
        if value is None:
            fail("missing", field)
        if isinstance(value, str):
            return value
        if not is_conversation(value):
            fail("must be a string or a list of {role, content} messages", field)
        replies = [m["content"] for m in value if m["role"] == "assistant"]
        if not replies:
            fail("the conversation has no assistant message", field)
        return replies[-1]

    def text(value, field) -> str:
        value = value.strip()
        if not value:
            fail("is empty", field)
        return value

    chosen, rejected = text(response("chosen"), "chosen"), text(response("rejected"), "rejected")
    prompt = row.get("prompt")
    if prompt is None and is_conversation(row["chosen"]):  # implicit prompt: chosen holds the whole conversation
        last = max(i for i, m in enumerate(row["chosen"]) if m["role"] == "assistant")
        prompt = row["chosen"][:last]
    if prompt is None:
        fail("missing", "prompt")
    if is_conversation(prompt):
        prompt = "\n\n".join(m["content"].strip() for m in prompt if m["role"] in ("system", "user"))
    elif not isinstance(prompt, str):
        fail("must be a string or a list of {role, content} messages", "prompt")
    extra = row.get("input") or ""
    if not isinstance(extra, str):
        fail("must be a string", "input")
    prompt = text(f"{prompt.strip()}\n\n{extra.strip()}" if extra.strip() else prompt, "prompt")
    if chosen == rejected:
        fail("is identical to rejected", "chosen")
    margin = row.get("margin")
    if margin is not None and (isinstance(margin, bool) or not isinstance(margin, (int, float))):
        fail("must be a number", "margin")
    pid = row.get("id")
    if pid is not None and (isinstance(pid, bool) or not isinstance(pid, (str, int))):
        fail("must be a string or an integer", "id")
    return Preference(prompt, chosen, rejected, "" if pid is None else str(pid), None if margin is None else float(margin))


def is_conversation(value) -> bool:
    return isinstance(value, list) and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in value)
