"""Benchmark result files: one JSON per measurement under `results/`, read by the docs renderer.

A result says what was run and where (`command`, `commit`, `date`, `machine` with its `cores`) and
what came out, as a `figures` dict (name -> value), a table (`columns` and `rows`), or both. Optional
keys: `summary` (one paragraph: what it measures and what the figures mean), `headline` (names of
figures the README shows), `readme_table` (true: the README shows its table and command too),
`superseded_by` (the file that replaces it: kept as history, left out of the docs). `write_result` writes such a file atomically; `load_result` checks one and names the
file and field of whatever is wrong; `result_option` and `record` are the `--result FILE` option and
the final write every script in benchmarks/ shares. It does not render anything (docs/render.py does).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from .errors import InputError
from .files import read_json_file, write_json

REQUIRED = {"title": str, "command": str, "commit": str, "date": str, "machine": dict}  # key -> type
OPTIONAL = {"summary": str, "figures": dict, "columns": list, "rows": list, "headline": list, "readme_table": bool,
            "superseded_by": str}


def current_commit(root: str | Path = ".") -> str:
    """The checked-out commit of the repository at `root` (with "+dirty" when files differ), or "unknown"."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


VECTOR_UNITS = (("amx_tile", "AMX"), ("avx512_bf16", "AVX-512 BF16"), ("avx512f", "AVX-512"), ("avx2", "AVX2"))  # flag -> name, widest first


def this_machine(cpuinfo: str | Path = "/proc/cpuinfo") -> dict:
    """Cores, CPU architecture, OS, the CPU's model and widest vector unit where `cpuinfo` tells them
    (the same 2 cores run the same model at half the speed without AVX-512 and AMX), and the 1-minute
    load average when the result was written."""
    machine = {"cores": os.cpu_count() or 1, "arch": platform.machine(), "system": platform.system()}
    machine.update(cpu_model(cpuinfo))
    if hasattr(os, "getloadavg"):
        machine["load_1min"] = round(os.getloadavg()[0], 2)
    return machine


def cpu_model(cpuinfo: str | Path) -> dict:
    """{"cpu": model name, "vector": widest of VECTOR_UNITS} from a /proc/cpuinfo-style file; {} where it cannot be read."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("model name", "flags") and key.strip() not in fields:
            fields[key.strip()] = value.strip()
            if len(fields) == 2:  # the first processor's entry says it; the others repeat it
                break
    flags = set(fields.get("flags", "").split())
    out = {"cpu": " ".join(fields["model name"].split())} if fields.get("model name") else {}
    widest = next((name for flag, name in VECTOR_UNITS if flag in flags), None)
    return {**out, "vector": widest} if widest else out


def write_result(path: str | Path, title: str, *, figures: dict | None = None, columns: list | None = None,
                 rows: list | None = None, summary: str | None = None, headline: list | None = None,
                 readme_table: bool | None = None, command: str | None = None, commit: str | None = None,
                 date: str | None = None, machine: dict | None = None) -> Path:
    """Write one result file. `command`, `commit`, `date` and `machine` default to this process's command
    line, checkout, clock and machine; pass them to record a run measured elsewhere or earlier."""
    result = {
        "title": title,
        "command": command or " ".join(["python", *sys.argv]),
        "commit": commit or current_commit(Path(__file__).resolve().parent),
        "date": date or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine or this_machine(),
    }
    extra = {"summary": summary, "figures": figures, "columns": columns, "rows": rows, "headline": headline,
             "readme_table": readme_table}
    result.update({key: value for key, value in extra.items() if value is not None})
    check(result, path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_json(path, result)


def result_option(parser, default: str) -> None:
    """Add `--result FILE` to a benchmark's argument parser (empty: write no result)."""
    parser.add_argument("--result", default=default,
                        help=f"result file for the docs (default {default}; empty = none)")


def record(path: str | Path | None, result: dict) -> Path | None:
    """Write `result` (write_result's keyword arguments, title included) to `path`, unless `path` is empty."""
    if not path:
        return None
    written = write_result(path, **result)
    print(f"wrote {written}; python -m docs.render puts it into docs/results.md")
    return written


def check(result, source) -> dict:
    """`result` if it is a well-formed result, else an InputError naming `source` and the field."""
    if not isinstance(result, dict):
        raise InputError("a result must be a JSON object", path=source)
    for key, kind in {**REQUIRED, **OPTIONAL}.items():
        if key in REQUIRED and key not in result:
            raise InputError("missing", path=source, field=key)
        if key in result and not isinstance(result[key], kind):
            raise InputError(f"must be a {kind.__name__}", path=source, field=key)
    if not isinstance(result["machine"].get("cores"), int):
        raise InputError("must give the number of cores", path=source, field="machine.cores")
    if "figures" not in result and "rows" not in result:
        raise InputError("a result needs figures or rows", path=source, field="figures")
    if ("columns" in result) != ("rows" in result):
        raise InputError("columns and rows come together", path=source, field="columns")
    for number, row in enumerate(result.get("rows", []), 1):
        if not isinstance(row, list) or len(row) != len(result["columns"]):
            raise InputError(f"row {number} must be a list of {len(result['columns'])} cells", path=source, field="rows")
    if result.get("readme_table") and "rows" not in result:
        raise InputError("the README can show a table only when there is one", path=source, field="readme_table")
    unknown = [name for name in result.get("headline", []) if name not in result.get("figures", {})]
    if unknown:
        raise InputError(f"names no figure: {', '.join(map(str, unknown))}", path=source, field="headline")
    return result


def load_result(path: str | Path) -> dict:
    """Read and check one result file."""
    return check(read_json_file(path), path)
