"""Reading seed instructions: JSONL (`instruction`, optional `input`), an Alpaca-style JSON array,
or plain text with one instruction per line.

The format is read from the content (`detect_format`); the file's suffix only settles the cases the
content leaves open, so JSONL saved as ``seeds.txt`` or ``SEEDS.JSONL`` is still JSONL. A UTF-8
byte-order mark is dropped.

Every problem is reported with file, line and field, before any work starts. Problems a user may
prefer to skip (empty or over-long instructions, duplicates) are skipped with a warning when
`strict=False`; malformed files are always errors.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..running.budget import count_tokens
from ..common.checks import arguments, whole
from ..common.errors import InputError
from ..common.files import lines, parse_objects, read_text

log = logging.getLogger("teamsrl.seeds")


@dataclass(frozen=True)
class Seed:
    instruction: str  # the seed instruction
    input: str = ""  # optional input it works on
    line: int = 0  # where it came from (1-based line, or item number for JSON arrays)


SHIPPED_TASKS = ("seeds", "validation_tasks", "heldout_tasks")  # training seeds; tasks to choose settings on; evaluation tasks


def default_seeds_path() -> Path:
    """The seed instructions shipped with the package."""
    return shipped_tasks_path("seeds")


def shipped_tasks_path(name: str) -> Path:
    """A task file shipped with the package: "seeds" (what the main job evolves and trains on),
    "validation_tasks" (for choosing training settings) or "heldout_tasks" (evaluation only, never
    trained on). The three share no task."""
    if name not in SHIPPED_TASKS:
        raise ValueError(f"unknown task file {name!r}; expected one of {SHIPPED_TASKS}")
    return Path(str(resources.files("teamsrl_graph") / "data" / f"{name}.jsonl"))


def seed_fields(obj, path, line) -> tuple[str, str]:
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}", path=path, line=line)
    if "instruction" not in obj:
        raise InputError("missing", path=path, line=line, field="instruction")
    instruction, input_text = obj["instruction"], obj.get("input", "") or ""
    for name, value in (("instruction", instruction), ("input", input_text)):
        if not isinstance(value, str):
            raise InputError(f"must be a string, got {type(value).__name__}", path=path, line=line, field=name)
    return instruction, input_text


def detect_format(text: str, suffix: str = "") -> str:
    """"jsonl", "json" (one array) or "text" for seed-file `text`; `suffix` (".txt", ".JSONL") only
    decides what the content leaves open, such as a broken first line.

    JSON: the whole text is one array (or, with a .json suffix, any one JSON value, so that a
    wrong value is reported as such). JSONL: the first non-blank line is a JSON object or array by
    itself, or the text is one object on one line. Text: anything else, e.g. "[Draft] Write ...".
    """
    suffix, body = suffix.lower(), text.strip()
    if not body:
        return "text"
    first = next(line for line in lines(text) if line.strip()).strip()
    try:
        whole = json.loads(body)
    except json.JSONDecodeError:
        whole = None
    else:
        if isinstance(whole, list) and not (suffix == ".jsonl" and first == body):
            return "json"
        if isinstance(whole, dict) and suffix != ".json" and first == body:
            return "jsonl"
        if isinstance(whole, (list, dict)) or suffix in (".json", ".jsonl"):
            return "jsonl" if suffix == ".jsonl" else "json"
        return "text"  # a lone number or quoted line in a text file is an instruction
    if first in ("[", "{"):  # a pretty-printed JSON value that does not parse: report it as JSON
        return "json"
    try:
        if first[:1] in "[{" and isinstance(json.loads(first), (dict, list)):
            return "jsonl"
    except json.JSONDecodeError:
        pass
    if suffix in (".json", ".jsonl"):
        return suffix[1:]
    return "text"


def parse_seeds(path: str | Path) -> list[tuple[str, str, int]]:
    """Raw (instruction, input, line) triples, with file-format errors raised."""
    path = Path(path)
    text = read_text(path)
    fmt = detect_format(text, path.suffix)
    if fmt == "jsonl":
        return [(*seed_fields(obj, path, number), number) for number, obj in parse_objects(text, path)]
    if fmt == "json":
        try:
            items = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(f"bad JSON ({error.msg}, column {error.colno})", path=path, line=error.lineno) from None
        if not isinstance(items, list):
            raise InputError("expected a JSON array of {\"instruction\", \"input\"} objects", path=path)
        return [(*seed_fields(obj, f"{path} item", i), i) for i, obj in enumerate(items, 1)]
    return [(line.strip(), "", number) for number, line in enumerate(lines(text), 1) if line.strip()]


def load_seeds(path: str | Path | None = None, *, strict: bool = True, max_tokens: int = 1024) -> list[Seed]:
    """Validated seeds from `path` (None: the shipped defaults).

    `max_tokens` bounds instruction + input (cl100k tokens) so that prompts fit small models' contexts.
    With strict=True, empty or over-long instructions are errors; otherwise they are skipped with a
    warning. Exact duplicates are always dropped with a warning (one record per seed).
    """
    if path is not None and not isinstance(path, (str, Path)):
        raise InputError(f"must be a path to a seed file, got {type(path).__name__}", field="seeds")
    whole(arguments(max_tokens=max_tokens), "max_tokens")  # 0 would refuse every seed as too long
    path = Path(path) if path else default_seeds_path()
    return check_seeds(parse_seeds(path), path, strict=strict, max_tokens=max_tokens)


def check_seeds(rows, source, *, strict: bool = True, max_tokens: int = 1024) -> list[Seed]:
    """Seeds from (instruction, input, line) rows read from `source` (a path, or a name for a list),
    under the rules of `load_seeds`."""
    path, seeds, seen = source, [], set()
    for instruction, input_text, line in rows:
        problem = None
        if not instruction.strip():
            problem = "empty instruction"
        elif (n := count_tokens(instruction) + count_tokens(input_text)) > max_tokens:
            problem = f"instruction of {n} tokens exceeds the limit of {max_tokens} (--max-seed-tokens)"
        if problem and strict:
            raise InputError(problem, path=path, line=line, field="instruction")
        if problem:
            log.warning("%s:%d: skipped: %s", path, line, problem)
            continue
        key = (instruction.strip(), input_text.strip())
        if key in seen:
            log.warning("%s:%d: skipped: duplicate of an earlier seed", path, line)
            continue
        seen.add(key)
        seeds.append(Seed(instruction.strip(), input_text.strip(), line))
    if not seeds:
        raise InputError("no seed instructions found", path=path)
    return seeds
