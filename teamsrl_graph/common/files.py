"""Files in and out. Reading user files with errors that name the file and line (UTF-8 text with
any byte-order mark dropped, JSON lines); writing results so that a reader never sees them
half-written, even after a crash (temporary name, flushed to disk, then rename); output places checked
before long work starts (`check_place`, `make_folder`)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError

BOM = "\ufeff"


def read_text(path: str | Path) -> str:
    """The file's text without a leading byte-order mark; a missing file or bytes that are not UTF-8
    are InputErrors (with the line)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("is a folder, not a file" if path.is_dir() else "no such file", path=path)
    try:
        data = path.read_bytes()
    except OSError as error:  # no permission, ...
        raise InputError(f"cannot be read ({error.strerror or error})", path=path) from None
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


def file_sha256(path: str | Path) -> str:
    """The SHA-256 hex digest of a file's bytes, read in blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_jsonl(path: str | Path) -> list[dict]:
    """Records of a JSON-lines file (blank lines ignored); each line must be a JSON object, and there must be one."""
    records = [obj for _, obj in read_objects(path)]
    if not records:
        raise InputError("the file has no records", path=path)
    return records


def read_json_file(path: str | Path):
    """A JSON file's content; bad JSON is an InputError naming the file and line."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise InputError(f"bad JSON ({error.msg})", path=path, line=error.lineno) from None


@contextmanager
def atomic(path: str | Path):
    """Yield a temporary path beside `path`; rename it into place if the block succeeds, else delete it.

    The one way this project writes a result file: a reader sees the old file or the new one, never half."""
    path = Path(path)
    # unique per writer (threads may replace the same file), the suffix kept for writers that go by it
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_jsonl(path: str | Path, records) -> Path:
    """Write records as JSON lines, atomically."""
    with atomic(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return Path(path)


def read_objects(path: str | Path) -> list[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON-lines file; each must be an object."""
    return parse_objects(read_text(path), path)


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) atomically, flushed to disk before the rename."""
    with atomic(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def write_json(path: str | Path, data) -> Path:
    """Write `data` as indented JSON through `write_text` (temporary name, then rename)."""
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def check_place(path: str | Path, field: str = "--out") -> Path:
    """Refuse, without creating anything, a `path` that lies under a file (the nearest part of it that
    exists is not a folder): an InputError naming `path`, that file and `field`."""
    path = Path(path)
    above = path.parent
    while not above.exists() and above != above.parent:
        above = above.parent  # the nearest part of the path that exists
    if above.exists() and not above.is_dir():
        raise InputError(f"cannot be written: {above} is a file, not a folder", path=path, field=field)
    return path


def make_folder(path: str | Path, field: str = "--out") -> Path:
    """Create the folder `path` (parents too) and check that it takes files, before any long work
    writes into it: a path that is a file or lies under one (`check_place`), or a place the file
    system refuses (no permission, a read-only disk), is an InputError naming it and `field`."""
    path = check_place(path, field)
    if path.exists() and not path.is_dir():
        raise InputError("is a file, not a folder", path=path, field=field)
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()  # gone once closed: no permission shows here, not at the end
    except OSError as error:
        raise InputError(f"cannot be written ({error.strerror or error})", path=path, field=field) from None
    return path


def move_into_place(src: str | Path, dst: str | Path):
    """Move a finished file or folder to `dst`, replacing what an earlier run left there."""
    dst = Path(dst)
    if dst.is_dir():
        shutil.rmtree(dst)
    Path(src).replace(dst)
