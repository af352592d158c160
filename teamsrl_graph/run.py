"""`generate`: run the evolution graph over many seeds in parallel and write the dataset.

Seeds run `concurrency` at a time in threads; their LLM calls meet in the local model's batcher.
Each finished record is appended to `dataset.jsonl` as one line as soon as it is done (a crash
leaves only whole records), and `report.json` is written atomically at the end. Records carry a
stable `id`, so a later run can tell which seeds are done.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .budget import Budget
from .context import Context
from .errors import InputError
from .files import write_json
from .graph import build_graph
from .resources import resources
from .seeds import Seed, check_seeds, load_seeds, seed_fields

log = logging.getLogger("teamsrl.generate")


def _as_seeds(seeds) -> list[Seed]:
    """Seeds from a path (None: the shipped ones) or a list of strings, dicts or Seeds, checked alike."""
    if seeds is None or isinstance(seeds, (str, Path)):
        return load_seeds(seeds)
    rows = []
    for i, s in enumerate(seeds, 1):
        if isinstance(s, Seed):
            rows.append((s.instruction, s.input, s.line or i))
        elif isinstance(s, str):
            rows.append((s, "", i))
        else:
            rows.append((*seed_fields(s, "seeds", i), i))
    return check_seeds(rows, "seeds")


def _public_url(url: str | None) -> str | None:
    """A URL with any user:password@ removed, safe for reports and logs."""
    if not url:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))) if parts.hostname else url


def summarize(records: list[dict], budget: Budget, context: Context, seconds: float, skipped: int) -> dict:
    steps = [s for r in records for s in r["path"]]
    eliminated = Counter(s["reason"] for s in steps if not s["accepted"])
    report = budget.summary()
    report.update(
        accepted=sum(s["accepted"] for s in steps),
        eliminated=sum(eliminated.values()),
        eliminated_by_reason=dict(eliminated.most_common()),
        elimination_rate=round(sum(eliminated.values()) / len(steps), 4) if steps else 0.0,
        actions=dict(Counter(s["op"] for s in steps).most_common()),
        records=len(records),
        responses_ok=sum(r["response_ok"] for r in records),
        skipped_for_budget=skipped,
        seconds=round(seconds, 2),
        completion_tokens_per_second=round(budget.completion_tokens / seconds, 2) if seconds else 0.0,
        settings={"model": context.model, "reviewer_model": context.reviewer_model,
                  "responder_model": context.responder_model, "base_url": _public_url(context.base_url),
                  "router": context.router, "max_steps": context.max_steps, "seed": context.seed,
                  "temperature": context.temperature},
    )
    if context.improve != "none":
        rounds = [i for r in records for i in r.get("improvements", [])]
        report["improve"] = {
            "mode": context.improve, "rounds": len(rounds), "accepted": sum(i["accepted"] for i in rounds),
            "improved_records": sum(any(i["accepted"] for i in r.get("improvements", [])) for r in records),
            "stopped_by": dict(Counter(r["improve_stop"] for r in records if "improve_stop" in r).most_common()),
            "settings": {"pit": context.pit, "improver_model": context.improver_model, "rounds": context.improve_rounds,
                         "threshold": context.improve_threshold},
        }
    return report


def generate(
    seeds=None,
    *,
    out: str | Path | None = None,
    context: Context | None = None,
    concurrency: int = 8,
    overwrite: bool = False,
    progress: bool = True,
) -> list[dict]:
    """Evolve and answer `seeds` (a path, a list of strings/dicts/Seeds, or None for the defaults).

    Returns the records (one per seed the budget reached). With `out`, writes `out/dataset.jsonl`
    and `out/report.json`. The run's settings, its query and token caps included, are `context`;
    its models and ledger are the resources bound to it (`resources(context)`; bind ready-made ones
    with `resources.bind` first).
    """
    seeds = _as_seeds(seeds)
    context = context or Context()
    res = resources(context)  # bad specs or prompts fail before any output exists
    res.models.load()  # ... and so do missing weights
    ledger = res.budget
    dataset = None
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if (out / "dataset.jsonl").exists() and not overwrite:
            raise InputError("already holds a dataset.jsonl; choose another --out or pass --overwrite", path=out)
        dataset = open(out / "dataset.jsonl", "w", encoding="utf-8")
    graph = build_graph()
    records, skipped, accepted, started = [], 0, 0, time.monotonic()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(seeds), unit="seed", desc="generate")
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="seed") as pool:
            inputs = iter(enumerate(seeds))
            running = set()
            while True:
                while len(running) < concurrency and (nxt := next(inputs, None)) is not None:
                    i, s = nxt
                    running.add(pool.submit(graph.invoke, {"seed": s.instruction, "input": s.input, "index": i}, context=context))
                if not running:
                    break
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    record = future.result()
                    accepted += sum(s["accepted"] for s in record.get("path", []))
                    if bar:
                        bar.update(1)
                        bar.set_postfix(queries=ledger.queries, accepted=accepted)
                    if record.get("status") == "skipped_budget":
                        skipped += 1
                        continue
                    records.append(record)
                    if dataset:
                        dataset.write(json.dumps(record, ensure_ascii=False) + "\n")
                        dataset.flush()
                    log.debug("done %s: %d steps, %d queries", record["id"], len(record["path"]), record["queries"])
    finally:
        if bar:
            bar.close()
        if dataset:
            dataset.close()
    report = summarize(records, ledger, context, time.monotonic() - started, skipped)
    if out is not None:
        write_json(out / "report.json", report)
    log.info("%d records, %d queries (budget %s), %d accepted / %d eliminated evolutions",
             report["records"], ledger.queries, ledger.max_queries, report["accepted"], report["eliminated"])
    return records
