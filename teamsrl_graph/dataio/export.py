"""The graph's records (a run's `dataset.jsonl`) as a Hugging Face `datasets.Dataset` in one of TRL's
formats, saved to disk or pushed to the hub.

- `messages`: conversational, `{"messages": [user, assistant]}`;
- `prompt-completion`: conversational prompt and completion, `{"prompt": [user], "completion": [assistant]}`;
- `alpaca`: `{"instruction", "input", "output"}`.

Every row keeps the record's `id`, `seed`, `evolution` (the accepted operations in order, joined by
" > "), `eliminated` (evolutions rolled back), `queries` and `response_ok`. By default only records
whose answer passed (`response_ok`) are exported; `keep_failed=True` adds those that failed but still
have an answer. The conversation is `sft.data.to_conversations`'s, so exported and fine-tuned data
are the same text. This module does not train or evaluate.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ..common.errors import InputError, SetupError
from ..common.files import move_into_place, read_objects
from ..sft.data import to_conversations

FORMATS = ("messages", "prompt-completion", "alpaca")


def read_records(path: str | Path) -> list[tuple[int, dict]]:
    """(line number, record) for every record of a dataset.jsonl; bad JSON names its line."""
    rows = read_objects(path)
    if not rows:
        raise InputError("the file has no records", path=path)
    return rows


def export_rows(rows: list[tuple[int, dict]], fmt: str = "messages", *, keep_failed: bool = False,
                source: str | Path = "<records>") -> list[dict]:
    """The rows of the exported dataset from (line, record) pairs; errors name `source`, line and field."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", field="format")
    # to_conversations checks the fields and drops unusable records; the position it is given as id
    # leads each conversation back to its record
    tagged = [{**record, "id": str(i)} | ({"response_ok": True} if keep_failed else {}) for i, (_, record) in enumerate(rows)]
    try:
        conversations = to_conversations(tagged, source)
    except InputError as error:
        line = rows[error.line - 1][0] if error.line else None  # the file's line, blank lines counted
        raise InputError(error.message, path=error.path, line=line, field=error.field) from None
    out = []
    for conversation in conversations:
        line, record = rows[int(conversation["id"])]
        messages = conversation["messages"]
        if fmt == "messages":
            row = {"messages": messages}
        elif fmt == "prompt-completion":
            row = {"prompt": messages[:-1], "completion": messages[-1:]}
        else:
            row = {"instruction": (record.get("instruction") or messages[-2]["content"]).strip(),
                   "input": (record.get("input") or "").strip(), "output": messages[-1]["content"]}
        out.append({"id": str(record.get("id", line)), **row, **metadata(record)})
    return out


def metadata(record: dict) -> dict:
    """The columns every format keeps beside the text: where the instruction came from and its cost."""
    path = [s for s in record.get("path") or [] if isinstance(s, dict)]
    return {"seed": record.get("seed", ""), "evolution": " > ".join(str(s.get("op")) for s in path if s.get("accepted")),
            "eliminated": sum(not s.get("accepted") for s in path), "queries": int(record.get("queries", 0)),
            "response_ok": bool(record.get("response_ok", True))}


def to_dataset(data, fmt: str = "messages", *, keep_failed: bool = False):
    """A `datasets.Dataset` in format `fmt` from a dataset.jsonl path or a list of records."""
    from datasets import Dataset

    if isinstance(data, (str, Path)):
        rows, source = read_records(data), data
    else:
        rows, source = list(enumerate(data, 1)), "<records>"
        if not rows:
            raise InputError("no records given", path=source)
    return Dataset.from_list(export_rows(rows, fmt, keep_failed=keep_failed, source=source))


def save(dataset, out: str | Path) -> Path:
    """`dataset.save_to_disk(out)` through a temporary folder beside it, moved into place at the end.

    `out` may be missing, empty, or an earlier saved dataset (replaced); any other folder is refused."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "dataset_info.json").is_file())):
        raise InputError("exists and is not a saved dataset; choose another folder", path=out, field="out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        dataset.save_to_disk(str(tmp / "dataset"))
        move_into_place(tmp / "dataset", out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def push(dataset, repo_id: str, *, private: bool = False) -> str:
    """Push `dataset` to the hub as `repo_id`; a missing token or an unreachable hub is a SetupError."""
    from huggingface_hub import get_token

    if not get_token():
        raise SetupError("no Hugging Face token: run `hf auth login` or set HF_TOKEN before --push-to-hub")
    try:
        dataset.push_to_hub(repo_id, private=private)
    except Exception as error:  # network, authentication and permission errors alike: one line for the user
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SetupError(f"could not push to {repo_id}: {type(error).__name__}: {message}") from None
    return repo_id
