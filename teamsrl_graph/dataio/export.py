"""The graph's records (a run's `dataset.jsonl`) as a Hugging Face `datasets.Dataset` in one of TRL's
formats, written as JSON lines, Parquet or a `save_to_disk` folder, or pushed to the hub.

- `messages`: conversational, `{"messages": [user, assistant]}`;
- `prompt-completion`: conversational prompt and completion, `{"prompt": [user], "completion": [assistant]}`;
- `alpaca`: `{"instruction", "input", "output"}`;
- `rlvr`: RL with verifiable rewards, `{"prompt": [user], "constraints": [...]}`: the instruction as
  trl's GRPOTrainer takes it, its constraints as the ground truth `constraint_reward` checks answers
  against. Only records whose instruction carries a constraint; the graph's own answer is not needed.

Every row keeps the record's `id`, `seed`, `evolution` (the accepted operations, in order),
`eliminated` (evolutions rolled back), `queries`, `response_ok`, `constraints` (each
`{"id", "kwargs"}` with kwargs JSON-encoded, since constraints of different kinds have different
arguments and an Arrow column holds one type; `decode_constraints` turns them back),
`verification` (the graph's answer checked against them: `{"strict", "loose", "results"}`, or null)
`constraints_ok`, and `repaired` (the constraints the answer was edited to meet, `constraints.repair`;
empty for an answer as sampled). By default only records whose answer passed (`response_ok`) are exported;
`keep_failed=True` adds those that failed but still have an answer. The conversation is
`sft.data.to_conversations`'s, so exported and fine-tuned data are the same text. This module does
not train or evaluate.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from ..constraints import validate
from ..constraints.reward import constraint_reward, decode_constraints  # noqa: F401 (the rlvr format's reward)
from ..common.errors import InputError, SetupError
from ..common.files import atomic, check_place, move_into_place, read_objects
from .records import prompt_of
from ..sft.data import to_conversations

FORMATS = ("messages", "prompt-completion", "alpaca", "rlvr")
TARGETS = ("jsonl", "parquet", "disk")


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
    if fmt == "rlvr":
        return rlvr_rows(rows, source)
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
        out.append({"id": str(record.get("id", line)), **row, **metadata(record, source, line)})
    return out


def rlvr_rows(rows: list[tuple[int, dict]], source) -> list[dict]:
    """`{"id", "prompt": [user], "constraints", ...}` for every record whose instruction has a constraint."""
    out = []
    for line, record in rows:
        if not isinstance(record.get("instruction"), str):
            raise InputError("missing or not a string", path=source, line=line, field="instruction")
        if record.get("constraints") and record["instruction"].strip():
            out.append({"id": str(record.get("id", line)), "prompt": [{"role": "user", "content": prompt_of(record)}],
                        **metadata(record, source, line)})
    if not out:
        raise InputError(f"none of the {len(rows)} records has a constraint to verify answers against "
                         "(rlvr needs records with `constraints`)", path=source, field="constraints")
    return out


def metadata(record: dict, source=None, line: int | None = None) -> dict:
    """The columns every format keeps beside the text: where the instruction came from, its cost, its
    constraints (kwargs as JSON text) and how the graph's answer fared against them."""
    path = [s for s in record.get("path") or [] if isinstance(s, dict)]
    constraints = record.get("constraints") or []
    validate(constraints, path=source, line=line)  # names the file, line and field of a malformed one
    verification = record.get("verification")
    return {"seed": record.get("seed", ""), "evolution": [str(s.get("op")) for s in path if s.get("accepted")],
            "eliminated": sum(not s.get("accepted") for s in path), "queries": int(record.get("queries", 0)),
            "response_ok": bool(record.get("response_ok", True)),
            "constraints": [{"id": c["id"], "kwargs": json.dumps(c.get("kwargs") or {}, sort_keys=True)} for c in constraints],
            "verification": None if not isinstance(verification, dict) else {
                "strict": bool(verification.get("strict")), "loose": bool(verification.get("loose")),
                "results": [{"id": str(r.get("id")), "strict": bool(r.get("strict")), "loose": bool(r.get("loose"))}
                            for r in verification.get("results") or []]},
            "constraints_ok": record.get("constraints_ok"), "repaired": [str(i) for i in record.get("repaired") or []]}


def features(fmt: str):
    """The column types of format `fmt`, fixed so that an export reads back the same whatever its
    records hold (no constraints anywhere would otherwise make `constraints` a column of nulls)."""
    from datasets import Features, List, Value

    text, flag = Value("string"), Value("bool")
    turns = List({"role": text, "content": text})
    columns = {"messages": {"messages": turns}, "prompt-completion": {"prompt": turns, "completion": turns},
               "alpaca": {"instruction": text, "input": text, "output": text}, "rlvr": {"prompt": turns}}[fmt]
    return Features({"id": text, **columns, "seed": text, "evolution": List(text), "eliminated": Value("int64"),
                     "queries": Value("int64"), "response_ok": flag, "constraints": List({"id": text, "kwargs": text}),
                     "verification": {"strict": flag, "loose": flag, "results": List({"id": text, "strict": flag, "loose": flag})},
                     "constraints_ok": flag, "repaired": List(text)})


def to_dataset(data, fmt: str = "messages", *, keep_failed: bool = False):
    """A `datasets.Dataset` in format `fmt` from a dataset.jsonl path or a list of records."""
    from datasets import Dataset

    if isinstance(data, (str, Path)):
        rows, source = read_records(data), data
    else:
        rows, source = list(enumerate(data, 1)), "<records>"
        if not rows:
            raise InputError("no records given", path=source)
    return Dataset.from_list(export_rows(rows, fmt, keep_failed=keep_failed, source=source), features=features(fmt))


def target_of(out: str | Path, to: str | None = None) -> str:
    """The output kind: `to` when given, else by `out`'s suffix (.jsonl, .parquet; anything else a folder)."""
    if to is None:
        return {".jsonl": "jsonl", ".parquet": "parquet"}.get(Path(out).suffix.lower(), "disk")
    if to not in TARGETS:
        raise InputError(f"unknown output kind {to!r}; choose one of {', '.join(TARGETS)}", field="to")
    return to


def check_out(out: str | Path, overwrite: bool = False):
    """Refuse an existing `out` unless `overwrite`; even then, refuse a folder that is not a saved dataset.
    Refuse an `out` under a file (nothing can be written there)."""
    out = check_place(out, "out")
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise InputError("already exists; pass --overwrite to replace it, or choose another name", path=out, field="out")
        if out.is_dir() and any(out.iterdir()) and not (out / "dataset_info.json").is_file():
            raise InputError("is a folder that is not a saved dataset; it is not replaced, choose another name",
                             path=out, field="out")


def write(dataset, out: str | Path, to: str | None = None, *, overwrite: bool = False) -> Path:
    """Write `dataset` to `out` as JSON lines, Parquet or a `save_to_disk` folder (`target_of`), under a
    temporary name renamed into place at the end. An existing `out` is refused unless `overwrite`; even
    then, only a file, or a folder that is a saved dataset, is replaced (never some other folder). A
    place that cannot be written (no permission, no space, ...) is an InputError naming it."""
    out, to = Path(out), target_of(out, to)
    check_out(out, overwrite)
    try:
        return _write(dataset, out, to)
    except OSError as error:  # the temporary name is gone (atomic, rmtree): nothing half-written is left
        raise InputError(f"cannot be written ({error.strerror or error})", path=out, field="out") from None


def _write(dataset, out: Path, to: str) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    if to == "disk":
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        try:
            dataset.save_to_disk(str(tmp / "dataset"))
            if out.is_file() or out.is_symlink():
                out.unlink()
            move_into_place(tmp / "dataset", out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return out
    with atomic(out) as tmp:
        if to == "jsonl":
            dataset.to_json(str(tmp), lines=True, force_ascii=False)
        else:
            dataset.to_parquet(str(tmp))
        if out.is_dir():
            shutil.rmtree(out)  # an earlier saved dataset, replaced by the finished file as asked
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
