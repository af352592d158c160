"""Files in and out. Reading user files with errors that name the file and line (UTF-8 text, JSON
lines); writing results so that a reader never sees them half-written (temporary name, then rename)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .errors import InputError


def read_text(path: str | Path) -> str:
    """The file's text; a missing file or bytes that are not UTF-8 are InputErrors (with the line)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 (byte {error.start}: {error.reason})", path=path, line=line) from None


def read_objects(path: str | Path) -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON-lines file; each must be an object."""
    rows = []
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"bad JSON ({error.msg}, column {error.colno})", path=path, line=number) from None
        if not isinstance(obj, dict):
            raise InputError(f"expected a JSON object, got {type(obj).__name__}", path=path, line=number)
        rows.append((number, obj))
    return rows


def write_json(path: str | Path, data) -> Path:
    """Write `data` as indented JSON under a temporary name and rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def move_into_place(src: str | Path, dst: str | Path):
    """Move a finished file or folder to `dst`, replacing what an earlier run left there."""
    dst = Path(dst)
    if dst.is_dir():
        shutil.rmtree(dst)
    Path(src).replace(dst)
