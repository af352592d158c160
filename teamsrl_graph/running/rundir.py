"""The output folder of a `generate` run, and what a run may do with it.

    OUT/dataset.jsonl   one record per line, appended as each record finishes (append-only)
    OUT/ledger.json     the query ledger, rewritten atomically as each call is booked
    OUT/run.json        the settings the run started with
    OUT/report.json     written atomically at the end (also after an interruption, marked so)

A new run refuses a folder that holds a dataset unless told to resume it or replace it. Resuming
checks that the settings which shape records are the same (caps may change), skips the record ids
already written, and goes on counting from the saved ledger, so a cap spans the whole run.
Replacing moves the previous results into OUT/.replaced/ until the new run has written its report.
This module knows files, not graphs.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .budget import Budget
from ..common.errors import InputError
from ..common.files import make_folder, read_json_file, write_json

log = logging.getLogger("teamsrl.generate")

DATASET, LEDGER, SETTINGS, REPORT = "dataset.jsonl", "ledger.json", "run.json", "report.json"
FREE = ("budget", "token_budget", "max_attempts", "max_batch")  # settings a resumed run may change


def public_url(url: str | None) -> str | None:
    """A URL with any user:password@ removed, safe for reports and logs."""
    if not url:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))) if parts.hostname else url


def public_settings(settings: dict) -> dict:
    return {**settings, "base_url": public_url(settings.get("base_url"))}


class RunDir:
    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.dataset = self.out / DATASET
        self.ledger_lock = threading.Lock()

    def prepare(self, settings: dict, *, resume: bool = False, overwrite: bool = False) -> tuple[list[dict], Budget | None]:
        """Check and set up the folder before anything runs: (records already written, the saved ledger)."""
        if resume and overwrite:
            raise InputError("resume and overwrite exclude each other", field="--resume")
        make_folder(self.out)  # a file there or where a parent should be, no permission, ...
        records, ledger = [], None
        if self.dataset.exists():
            if resume:
                self._check_settings(settings)
                records = self._read_records()
                ledger = Budget.load(self.out / LEDGER) if (self.out / LEDGER).exists() else None
                log.info("resuming %s: %d records done", self.out, len(records))
            elif overwrite:
                self._set_aside()
            else:
                raise InputError("already holds a dataset.jsonl; pass --resume to continue that run or --overwrite "
                                 "to replace it", path=self.out)
        write_json(self.out / SETTINGS, public_settings(settings))
        return records, ledger

    def _check_settings(self, settings: dict):
        path = self.out / SETTINGS
        if not path.exists():
            raise InputError("holds a dataset.jsonl but no run.json; it cannot be resumed", path=self.out)
        before, now = read_json_file(path), public_settings(settings)
        for key, value in now.items():
            if key not in FREE and key in before and before[key] != value:
                raise InputError(f"the run was started with {key}={before[key]!r}, not {value!r}; resume with the same "
                                 "settings or use another --out", path=path, field=key)

    def _read_records(self) -> list[dict]:
        """The records written so far; a last line cut off by a crash is dropped (that seed runs again)."""
        data = self.dataset.read_bytes()
        lines = data.split(b"\n")
        records = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if number == len(lines):  # the unfinished last line of a killed run
                    log.warning("%s:%d: dropping a record cut off by an interruption", self.dataset, number)
                    with self.dataset.open("r+b") as f:
                        f.truncate(len(data) - len(line))
                    continue
                raise InputError("bad JSON in a finished line; the dataset was changed by hand", path=self.dataset,
                                 line=number) from None
        return records

    def _set_aside(self):
        aside = self.out / ".replaced"
        shutil.rmtree(aside, ignore_errors=True)
        aside.mkdir()
        for name in (DATASET, LEDGER, SETTINGS, REPORT):
            if (self.out / name).exists():
                (self.out / name).rename(aside / name)

    def open_dataset(self):
        """The dataset, opened for appending (one whole line per record, flushed)."""
        return self.dataset.open("a", encoding="utf-8")

    def save_ledger(self, budget: Budget):
        """Write the ledger's state; under a lock, so the file always ends with the latest one."""
        with self.ledger_lock:
            budget.save(self.out / LEDGER)

    def finish(self, report: dict):
        write_json(self.out / REPORT, report)
        shutil.rmtree(self.out / ".replaced", ignore_errors=True)
