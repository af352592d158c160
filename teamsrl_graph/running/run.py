"""`generate`: run the evolution graph over many seeds in parallel and write the dataset.

Seeds run `concurrency` at a time in threads; their LLM calls meet in the local model's batcher.
With `out`, each finished record is appended to `dataset.jsonl` as soon as it is done, the ledger
is saved as every call is booked, and `report.json` is written at the end (see rundir.py for the
folder and for resuming). No new seed starts once the budget cannot fund its answer. SIGINT and
SIGTERM stop the scheduling of new seeds, let the ones in flight finish, write the report (marked
interrupted) and raise `Interrupted`; a second signal ends the process at once (what was written
stays: whole records and the ledger).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from .budget import Budget
from ..evolve.context import Context
from ..common.checks import arguments, given, listed, whole
from ..common.errors import InputError, Interrupted
from ..common.results import this_machine
from ..evolve.graph import build_graph
from ..dataio.records import record_id
from .report import summarize
from ..evolve.resources import resources
from .rundir import RunDir
from ..dataio.seeds import Seed, check_seeds, load_seeds, seed_fields

log = logging.getLogger("teamsrl.generate")


def run_inputs(seeds, context, concurrency, config) -> tuple[list[Seed], Context]:
    """A run's arguments, checked before anything is built or written (`generate`, `generate_on_ray`):
    the seeds (`_as_seeds`), the Context (None = the defaults, a dict = those settings), seeds in
    flight (a whole number of at least 1) and LangGraph's run `config` (a dict or None)."""
    whole(arguments(concurrency=concurrency), "concurrency")  # 0 would start no seed and return nothing
    if config is not None and not isinstance(config, dict):
        raise InputError(f"must be a dict of LangGraph run settings (tags, metadata, callbacks), got "
                         f"{type(config).__name__}", field="config")
    return _as_seeds(seeds), given(context, Context, "context")


def _as_seeds(seeds) -> list[Seed]:
    """Seeds from a path (None: the shipped ones) or a list of strings, dicts or Seeds, checked alike."""
    if seeds is None or isinstance(seeds, (str, Path)):
        return load_seeds(seeds)
    rows = []
    for i, s in enumerate(listed(seeds, "seeds", "a path or a list of seed instructions"), 1):
        if isinstance(s, Seed):
            rows.append((s.instruction, s.input, s.line or i))
        elif isinstance(s, str):
            rows.append((s, "", i))
        else:
            rows.append((*seed_fields(s, "seeds", i), i))
    return check_seeds(rows, "seeds")


class _Signals:
    """While active (main thread only): the first SIGINT/SIGTERM is noted, a second one acts at once."""

    def __init__(self):
        self.received: int | None = None
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._note)
        return self

    def _note(self, signum, frame):
        if self.received is not None:  # the second one: no more waiting (records and ledger are on disk)
            os._exit(128 + signum)
        self.received = signum
        log.warning("%s: no new seeds start; waiting for those in flight (again to stop at once)",
                    signal.Signals(signum).name)

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _can_fund_a_seed(ledger: Budget) -> bool:
    """Whether one more seed could at least be answered under the caps (nothing is reserved)."""
    if ledger.max_queries is not None and ledger.queries + ledger.reserved >= ledger.max_queries:
        return False
    return ledger.max_tokens is None or ledger.used_tokens + (ledger.reserved + 1) * ledger.call_tokens <= ledger.max_tokens


def generate(
    seeds=None,
    *,
    out: str | Path | None = None,
    context: Context | dict | None = None,
    concurrency: int = 16,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
    config: dict | None = None,
) -> list[dict]:
    """Evolve and answer `seeds` (a path, a list of strings/dicts/Seeds, or None for the defaults).

    Returns the records of the run (with `resume`, those of the earlier attempts too). With `out`,
    writes `out/dataset.jsonl`, `out/ledger.json`, `out/run.json` and `out/report.json`. The
    run's settings, its query and token caps included, are `context` (a Context, or a dict of its
    settings; None = the defaults); its models and ledger are the resources bound to it
    (`resources(context)`; bind ready-made ones with `resources.bind`).
    `config` is LangGraph's run config for every seed's invocation (callbacks, tags, metadata: what
    tracing such as LangSmith reads); each seed's run is also tagged with its record id.
    """
    seeds, context = run_inputs(seeds, context, concurrency, config)
    res = resources(context)  # bad specs or prompts fail before any output exists
    res.models.load()  # ... and so do missing weights
    folder, records, dataset = (RunDir(out) if out is not None else None), [], None
    if folder:
        records, saved = folder.prepare(context.settings(), resume=resume, overwrite=overwrite)
        if saved:  # the cap spans the whole run: go on counting from the earlier attempts, under today's caps
            saved.max_queries, saved.max_tokens = context.budget, context.token_budget
            res.budget = saved
        dataset = folder.open_dataset()
    ledger, todo = res.budget, still_to_do(seeds, records)
    graph, started = build_graph(), time.monotonic()
    bar = Progress(ledger, len(todo)) if progress else None
    hooks = ([lambda: folder.save_ledger(res.budget)] if folder else []) + ([bar.booked] if bar else [])
    res.on_booked = (lambda: [hook() for hook in hooks]) if hooks else None  # after each booked call
    try:
        with _Signals() as signals, ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="seed") as pool:
            skipped = deal(todo, lambda i, seed: pool.submit(run_seed, graph, context, i, seed, config),
                           lambda future: future.result(), lambda in_flight: in_flight < concurrency,
                           lambda: _can_fund_a_seed(ledger), signals, records, dataset, bar)
    finally:
        if bar:
            bar.close()
        if dataset:
            dataset.close()
    conclude(records, ledger, context, started, skipped, signals, folder, reviewer_mode=res.reviewer_mode,
             extra={"type_draw": res.draw.state()})
    return records


def deal(todo, start, finish, room, can_fund, signals, records: list[dict], dataset=None, bar=None) -> int:
    """Start seeds (`start(index, seed)` -> future) while `room(in flight)` and `can_fund()` say so and
    no signal came; keep each finished one's record (`finish(future)` -> record). Returns how many
    seeds the cap skipped. One loop for a run in one process and one on Ray workers.

    A seed that raises (an error no node turned into a failed record: a bug, not a bad answer) stops
    new seeds from starting; the seeds in flight finish and their records are kept, then the first
    such error is raised. The records on disk and the ledger let `resume` go on from there."""
    pending, running, skipped, error = iter(todo), set(), 0, None
    while True:
        while error is None and signals.received is None and room(len(running)) and (nxt := next(pending, None)):
            if not can_fund():
                skipped += 1 + sum(1 for _ in pending)  # no seed after this one could be answered either
                break
            running.add(start(*nxt))
        if not running:
            if error is not None:
                raise error
            return skipped
        finished, running = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
        for future in finished:
            try:
                record = finish(future)
            except Exception as failure:
                if error is None:  # the first one is raised at the end; later ones only end their seed
                    log.error("a seed raised %s: no new seeds start; the %d in flight finish first",
                              type(failure).__name__, len(running))
                    error = failure
                continue
            skipped += keep(record, records, dataset, bar)
        if bar:
            bar.refresh_queries()


def conclude(records, ledger: Budget, context: Context, started: float, skipped: int, signals, folder,
             reviewer_mode=None, extra: dict | None = None) -> dict:
    """Summarize a finished (or interrupted) run, save its ledger and report, log one line; raises
    `Interrupted` when a signal stopped it. Returns the report."""
    stopped = signal.Signals(signals.received).name if signals.received else None
    report = summarize(records, ledger, context, time.monotonic() - started, skipped, interrupted=stopped,
                       reviewer_mode=reviewer_mode)
    report.update(extra or {})
    report["machine"] = this_machine()  # tokens/s depend on the CPU as much as on the settings
    if folder:
        folder.save_ledger(ledger)
        folder.finish(report)
    log.info("%d records, %d queries (budget %s), %d accepted / %d eliminated evolutions%s", report["records"],
             ledger.queries, ledger.max_queries, report["accepted"], report["eliminated"],
             f"; interrupted by {stopped}" if stopped else "")
    if signals.received:
        raise Interrupted(stopped, 128 + signals.received)
    return report


def still_to_do(seeds: list[Seed], records: list[dict]) -> list[tuple[int, Seed]]:
    """(index, seed) of the seeds whose record is not among `records` yet (a resumed run skips the others)."""
    done = {r["id"] for r in records}
    return [(i, s) for i, s in enumerate(seeds) if record_id(s.instruction, s.input) not in done]


def run_seed(graph, context: Context, index: int, seed: Seed, config: dict | None = None) -> dict:
    """One seed through `graph`: its record (status "skipped_budget" when the cap could not fund it);
    its run carries `config` (callbacks, tags, metadata) and is tagged with the record id."""
    tags = [*(config or {}).get("tags", []), f"record:{record_id(seed.instruction, seed.input)}"]
    return graph.invoke({"seed": seed.instruction, "input": seed.input, "index": index},
                        config={**(config or {}), "tags": tags}, context=context)


def keep(record: dict, records: list[dict], dataset=None, bar: Progress | None = None) -> int:
    """Take a finished seed's record: append it to `records` and to the open `dataset` (one flushed
    line); 1 if the cap skipped that seed (nothing is kept), else 0."""
    if bar:
        bar.update_seed(record)
    if record.get("status") == "skipped_budget":
        return 1
    records.append(record)
    if dataset:
        dataset.write(json.dumps(record, ensure_ascii=False) + "\n")
        dataset.flush()
    return 0


class Progress:
    """A bar over queries spent against the cap (or seeds, without a cap), with seeds done alongside.
    It counts booked calls (requests sent), never reserved ones: `booked` moves it as each call is
    booked (the resources' `on_booked` hook); `refresh_queries` catches up with a ledger in another
    process (Ray)."""

    def __init__(self, ledger: Budget, seeds: int):
        from tqdm.auto import tqdm

        self.ledger, self.seeds, self.done, self.accepted = ledger, seeds, 0, 0
        self.lock = threading.Lock()  # calls are booked from the seeds' threads
        self.start = ledger.queries
        capped = ledger.max_queries is not None
        self.bar = tqdm(total=(ledger.max_queries - ledger.queries) if capped else None, unit="query", desc="generate")

    def update_seed(self, record: dict):
        self.done += 1
        self.accepted += sum(s["accepted"] for s in record.get("path", []))

    def booked(self):
        """One more call booked: the bar shows the ledger's count (drawn at tqdm's own pace)."""
        with self.lock:
            self.bar.update(self.ledger.queries - self.start - self.bar.n)

    def refresh_queries(self):
        with self.lock:
            self.bar.n = self.ledger.queries - self.start
            self.bar.set_postfix(seeds=f"{self.done}/{self.seeds}", accepted=self.accepted, refresh=False)
            self.bar.refresh()

    def close(self):
        self.refresh_queries()
        self.bar.close()
