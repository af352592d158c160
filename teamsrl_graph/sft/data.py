"""Training data for supervised fine-tuning: the evolution graph's records as chat conversations.

A graph record (one line of `dataset.jsonl`) becomes one conversation in TRL's conversational
format, ``{"id": ..., "messages": [{"role": "user", ...}, {"role": "assistant", ...}]}``; the user
turn is the final instruction (plus its input, if any) and the assistant turn is the response.
Records whose response failed (`response_ok` false or an empty response) are skipped; a record with
no `instruction` or `response` field at all, an empty file, or a file where nothing is usable is an
`InputError` naming the file, line and field. This module reads and converts; it does not tokenize.
"""

from __future__ import annotations

from pathlib import Path

from ..common.checks import listed
from ..common.errors import InputError
from ..common.files import read_jsonl
from ..dataio.records import prompt_of


def to_conversations(records: list[dict], source: str | Path | None = None, verified_only: bool = True) -> list[dict]:
    """`{"id", "messages"}` for every usable record; `source` only names the data in errors. A record
    is usable when its answer passed (`response_ok`), which for a record with constraints means they
    were verified; `verified_only=False` also takes answers that failed only their constraints.

    Rows that already carry `messages` (a conversational dataset) are checked and kept as they are.
    """
    source = source or "<records>"
    conversations = []
    for number, record in enumerate(records, 1):
        if "messages" in record:
            messages = record["messages"]
            if not messages or messages[-1].get("role") != "assistant":
                raise InputError("a conversation must end with an assistant turn", path=source, line=number, field="messages")
            conversations.append({"id": str(record.get("id", number)), "messages": messages})
            continue
        for name in ("instruction", "response"):
            if not isinstance(record.get(name), str):
                raise InputError("missing or not a string", path=source, line=number, field=name)
        passed = record.get("response_ok", True) or (not verified_only and record.get("constraints_ok") is False)
        if not passed or not record["response"].strip() or not record["instruction"].strip():
            continue
        messages = [{"role": "user", "content": prompt_of(record)},
                    {"role": "assistant", "content": record["response"].strip()}]
        conversations.append({"id": str(record.get("id", number)), "messages": messages})
    if not conversations:
        raise InputError(f"none of the {len(records)} records has a usable response (response_ok true and "
                         "a non-empty response)", path=source, field="response")
    return conversations


def load(data, verified_only: bool = True) -> tuple[list[dict], str | None]:
    """(conversations, source path or None) from records, a `datasets.Dataset` or a dataset.jsonl path."""
    if isinstance(data, (str, Path)):
        return to_conversations(read_jsonl(data), data, verified_only), str(data)
    if hasattr(data, "to_list"):  # a datasets.Dataset
        return to_conversations(data.to_list(), "<dataset>", verified_only), None
    records = listed(data, "records", "a list of records, a Dataset or a dataset.jsonl path")
    if not records:
        raise InputError("no records given", path="<records>")
    return to_conversations(records, verified_only=verified_only), None
