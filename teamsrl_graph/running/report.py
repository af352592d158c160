"""report.json of a `generate` run: what the ledger counted, what happened to the evolutions (the
router's choices: operations, constraint families, where it chose STOP and the verified yield of
those records), the answers and the failed calls, and the settings that matter for reading it.
Pure: records in, dict out."""

from __future__ import annotations

from collections import Counter

from ..constraints import type_mix
from ..dataio.records import verified
from ..evolve.actions import STOP
from ..evolve.stops import stop_table

from .budget import Budget
from ..evolve.context import Context
from .rundir import public_url


def routing_policy(router: str, policy: str | None) -> dict | None:
    """{"file", "sha256"} of the policy weights that route under `router` 'policy' (`policy`, or the
    shipped ones when it is empty): which policy made a dataset; None under another router."""
    if router != "policy":
        return None
    from ..common.files import file_sha256
    from ..policy.model import policy_paths
    from ..policy.router import shipped_policy_path

    weights, _ = policy_paths(policy or shipped_policy_path())
    return {"file": weights.name, "sha256": file_sha256(weights)[:16]}


def compliance(records: list[dict]) -> dict:
    """How the answers of records with constraints fared: prompt-level (every constraint) strict and
    loose rates, per-constraint pass rates by id, prompt-level strict rates by the number of constraints
    a record carries, how often add_constraints fell back to
    a composed training phrasing; which constraint types the records carry and the entropy of that mix;
    how many kept answers were edited to pass (`repaired`), and which constraints the edits met."""
    checked = [r for r in records if r.get("verification")]
    results = [x for r in checked for x in r["verification"]["results"]]
    drawn = [s for r in records for s in r.get("path", []) if s.get("constraint")]
    by_id = Counter(x["id"] for x in results)
    passed = Counter(x["id"] for x in results if x["strict"])
    rate = lambda n, d: round(n / d, 4) if d else None  # noqa: E731
    counts = Counter(len(r["verification"]["results"]) for r in checked)
    passed_by_count = Counter(len(r["verification"]["results"]) for r in checked if r["verification"]["strict"])
    return {
        "records_with_constraints": len(checked),
        "prompt_strict": rate(sum(r["verification"]["strict"] for r in checked), len(checked)),
        "prompt_loose": rate(sum(r["verification"]["loose"] for r in checked), len(checked)),
        "instruction_strict": rate(sum(x["strict"] for x in results), len(results)),
        "by_constraint": {k: {"checked": n, "strict": rate(passed[k], n)} for k, n in sorted(by_id.items())},
        "by_count": {str(k): {"checked": n, "strict": rate(passed_by_count[k], n)} for k, n in sorted(counts.items())},
        "constraints_drawn": len(drawn),
        "fallback_rate": rate(sum(bool(s.get("fallback")) for s in drawn), len(drawn)),
        "type_mix": type_mix([r["constraints"] for r in checked]),
        "verified_records": sum(map(verified, records)),
        "repaired_records": sum(bool(r.get("repaired")) for r in checked),
        "repaired_by_constraint": dict(Counter(i for r in checked for i in r.get("repaired") or []).most_common()),
    }


def per_verified(ledger: dict, verified_records: int) -> dict:
    """What one verified record cost, from the ledger's summary (`Budget.summary`): queries of every
    role, expert queries (rewrites and answer samples: the expert and responder roles) and completion
    tokens; None each when nothing verified."""
    roles = ledger["queries"]["by_role"]
    spent = {"queries": ledger["queries"]["total"],
             "expert_queries": roles.get("expert", 0) + roles.get("responder", 0),
             "completion_tokens": ledger["tokens"]["completion"]}
    return {k: round(v / verified_records, 2) if verified_records else None for k, v in spent.items()}


def stops(records: list[dict], max_steps: int) -> list[dict]:
    """`stops.stop_table` of a run: each record's decisions (its path's operations, then STOP where the
    router chose it) and whether it is verified (`records.verified`)."""
    return stop_table([([s["op"] for s in r.get("path", [])] + ([STOP] if r.get("stop") == "router" else []),
                        verified(r)) for r in records], max_steps)


def summarize(records: list[dict], budget: Budget, context: Context, seconds: float, skipped: int,
              interrupted: str | None = None, reviewer_mode: str | None = None) -> dict:
    """report.json: the ledger's counts, what happened to evolutions, answers and failures, how the
    reviewer was read ("logprobs", "text", or None when it was never asked), and the settings."""
    steps, settings = [s for r in records for s in r["path"]], context.settings()
    eliminated = Counter(s["reason"] for s in steps if not s["accepted"])
    report = budget.summary()
    report.update(
        accepted=sum(s["accepted"] for s in steps),
        eliminated=sum(eliminated.values()),
        eliminated_by_reason=dict(eliminated.most_common()),
        reviewer_mode=reviewer_mode,
        elimination_rate=round(sum(eliminated.values()) / len(steps), 4) if steps else 0.0,
        actions=dict(Counter(s["op"] for s in steps).most_common()),
        families=dict(Counter(s["family"] for s in steps if s.get("family")).most_common()),  # the router's, with add_constraints
        stops=stops(records, context.max_steps),  # per step: how often the router chose STOP, verified yield of those
        records=len(records),
        responses_ok=sum(r["response_ok"] for r in records),
        answer_samples=sum(r.get("samples", 0) for r in records),  # answers drawn (queries.requests: requests sent)
        skipped_for_budget=skipped,
        failed=sum(r.get("status") == "failed" for r in records),
        errors_by_type=dict(Counter(f"{e['node']}:{e['type']}" for r in records for e in r.get("errors", [])).most_common()),
        seconds=round(seconds, 2),
        completion_tokens_per_second=round(budget.completion_tokens / seconds, 2) if seconds else 0.0,
        settings={**{k: settings[k] for k in ("model", "reviewer_model", "responder_model")},
                  "base_url": public_url(context.base_url), "router": context.router, "families": context.families,
                  "policy": routing_policy(context.router, context.policy), "max_steps": context.max_steps,
                  "seed": context.seed, "temperature": context.temperature},
    )
    if context.improve != "none":
        rounds = [i for r in records for i in r.get("improvements", [])]
        report["improve"] = {
            "mode": context.improve, "rounds": len(rounds), "accepted": sum(i["accepted"] for i in rounds),
            "improved_records": sum(any(i["accepted"] for i in r.get("improvements", [])) for r in records),
            "stopped_by": dict(Counter(r["improve_stop"] for r in records if "improve_stop" in r).most_common()),
            "settings": {"pit": context.pit, "improver_model": settings["improver_model"], "rounds": context.improve_rounds,
                         "threshold": context.improve_threshold},
        }
    report["verification"] = compliance(records)
    report["per_verified_record"] = per_verified(report, report["verification"]["verified_records"])  # the yield's cost
    if interrupted:
        report["interrupted"] = interrupted  # the run stopped early on this signal; resume it with --resume
    return report
