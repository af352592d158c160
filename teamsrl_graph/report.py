"""report.json of a `generate` run: what the ledger counted, what happened to the evolutions, the
answers and the failed calls, and the settings that matter for reading it. Pure: records in, dict out."""

from __future__ import annotations

from collections import Counter

from .budget import Budget
from .context import Context
from .rundir import public_url


def summarize(records: list[dict], budget: Budget, context: Context, seconds: float, skipped: int,
              interrupted: str | None = None) -> dict:
    """report.json: the ledger's counts, what happened to evolutions, answers and failures, and the settings."""
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
        failed=sum(r.get("status") == "failed" for r in records),
        errors_by_type=dict(Counter(f"{e['node']}:{e['type']}" for r in records for e in r.get("errors", [])).most_common()),
        seconds=round(seconds, 2),
        completion_tokens_per_second=round(budget.completion_tokens / seconds, 2) if seconds else 0.0,
        settings={"model": context.model, "reviewer_model": context.reviewer_model,
                  "responder_model": context.responder_model, "base_url": public_url(context.base_url),
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
    if interrupted:
        report["interrupted"] = interrupted  # the run stopped early on this signal; resume it with --resume
    return report
