"""Files in and out. Reading user files with errors that name the file and line (UTF-8 text with
any byte-order mark dropped, JSON lines); writing results so that a reader never sees them
half-written, even after a crash (temporary name, flushed to disk, then rename)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

from .errors import InputError

BOM = "\ufeff"


def read_text(path: str | Path) -> str:
    """The file's text without a leading byte-order mark; a missing file or bytes that are not UTF-8
    are InputErrors (with the line)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 (byte {error.start}: {error.reason})", path=path, line=line) from None
    return text[1:] if text.startswith(BOM) else text


def lines(text: str) -> list[str]:
    """`text` split at line feeds only (\\r\\n too), so line numbers match editors' and a JSON string
    holding U+2028 or a form feed stays on its line (str.splitlines would break it)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def parse_objects(text: str, path) -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line of JSON-lines `text` read from `path`."""
    rows = []
    for number, line in enumerate(lines(text), 1):
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


def read_objects(path: str | Path) -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON-lines file; each must be an object."""
    return parse_objects(read_text(path), path)


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) under a unique temporary name beside `path`, flush it to disk and rename
    it into place: readers see the old file or the new one, never a part."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # one per writer
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, data) -> Path:
    """Write `data` as indented JSON through `write_text` (temporary name, then rename)."""
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def move_into_place(src: str | Path, dst: str | Path):
    """Move a finished file or folder to `dst`, replacing what an earlier run left there."""
    dst = Path(dst)
    if dst.is_dir():
        shutil.rmtree(dst)
    Path(src).replace(dst)
