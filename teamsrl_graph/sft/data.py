"""Training data for supervised fine-tuning: the evolution graph's records as chat conversations.

A graph record (one line of `dataset.jsonl`) becomes one conversation in TRL's conversational
format, ``{"id": ..., "messages": [{"role": "user", ...}, {"role": "assistant", ...}]}``; the user
turn is the final instruction (plus its input, if any) and the assistant turn is the response.
Records whose response failed (`response_ok` false or an empty response) are skipped; a record with
no `instruction` or `response` field at all, an empty file, or a file where nothing is usable is an
`InputError` naming the file, line and field. This module reads and converts; it does not tokenize.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from ..errors import InputError
from ..files import read_objects


def read_jsonl(path: str | Path) -> list[dict]:
    """Records of a JSON-lines file (blank lines ignored); each line must be a JSON object."""
    records = [obj for _, obj in read_objects(path)]
    if not records:
        raise InputError("the file has no records", path=path)
    return records


def prompt_of(record: dict) -> str:
    """The user turn: the final instruction, followed by its input when there is one."""
    instruction, extra = record["instruction"].strip(), (record.get("input") or "").strip()
    return f"{instruction}\n\n{extra}" if extra else instruction


def to_conversations(records: list[dict], source: str | Path | None = None) -> list[dict]:
    """`{"id", "messages"}` for every usable record; `source` only names the data in errors.

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
        if not record.get("response_ok", True) or not record["response"].strip() or not record["instruction"].strip():
            continue
        messages = [{"role": "user", "content": prompt_of(record)},
                    {"role": "assistant", "content": record["response"].strip()}]
        conversations.append({"id": str(record.get("id", number)), "messages": messages})
    if not conversations:
        raise InputError(f"none of the {len(records)} records has a usable response (response_ok true and "
                         "a non-empty response)", path=source, field="response")
    return conversations


def load(data) -> tuple[list[dict], str | None]:
    """(conversations, source path or None) from records, a `datasets.Dataset` or a dataset.jsonl path."""
    if isinstance(data, (str, Path)):
        return to_conversations(read_jsonl(data), data), str(data)
    if hasattr(data, "to_list"):  # a datasets.Dataset
        return to_conversations(data.to_list(), "<dataset>"), None
    records = list(data)
    if not records:
        raise InputError("no records given", path="<records>")
    return to_conversations(records), None


def sha256(conversations: list[dict]) -> str:
    """A fingerprint of exactly what was trained on (independent of the input's form)."""
    digest = hashlib.sha256()
    for c in conversations:
        digest.update(json.dumps(c["messages"], sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


def split_heldout(records: list, fraction: float, seed: int = 0) -> tuple[list, list]:
    """(train, heldout): a seeded random `fraction` of the records held out, at least one when possible."""
    if not 0 <= fraction < 1:
        raise InputError(f"held-out fraction must be in [0, 1), got {fraction}", field="heldout_fraction")
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    count = min(len(records) - 1, max(1, round(len(records) * fraction))) if fraction > 0 else 0
    held = set(order[:count])
    return ([r for i, r in enumerate(records) if i not in held], [r for i, r in enumerate(records) if i in held])


def write_jsonl(path: str | Path, records: list[dict]) -> Path:
    """Write records as JSON lines to a temporary name, renamed at the end."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path
