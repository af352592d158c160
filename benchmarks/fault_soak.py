"""Fault soak: `teamsrl generate` against the fake OpenAI-compatible server on loopback with mixed
faults (429 with Retry-After, 500, malformed JSON, hangs past the client timeout, connection resets),
killed with SIGKILL several times mid-run and resumed with --resume until it finishes.

Prints records completed / seeds, duplicated and lost records, queries the ledger booked against
the chat requests the server saw (they must be equal: every attempt is booked before it is sent),
whether the cap held, and tracebacks seen. The seeds are generated; no model runs.

    python benchmarks/fault_soak.py [--seeds 200] [--faults 0.1] [--kills 3] [--out runs/soak]
                                    [--result results/fault_soak.json]

The figures also go to a result file (`--result`, empty to skip) that `python -m docs.render` shows.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.testing.soak import soak


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--faults", type=float, default=0.1, help="share of chat requests that fail (mixed kinds)")
    ap.add_argument("--kills", type=int, default=3, help="SIGKILLs, each after a random number of new records")
    ap.add_argument("--budget", type=int, default=3000)
    ap.add_argument("--max-steps", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/soak")
    result_option(ap, "results/fault_soak.json")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    result = soak(Path(args.out), seeds=args.seeds, budget=args.budget, fault_rate=args.faults, kills=args.kills,
                  max_steps=args.max_steps, seed=args.seed)
    print(json.dumps(result, indent=2))
    print(f"\nrecords completed / seeds: {result['completed']}/{result['seeds']} ({result['records']} written, "
          f"{result['failed_records']} ended failed); duplicated {result['duplicated']}, lost {result['lost']}; "
          f"requests booked {result['requests_booked']} ({result['queries_booked']} queries) vs HTTP chat requests "
          f"{result['http_requests']} ({'equal' if result['requests_booked'] == result['http_requests'] else 'DIFFERENT'}); budget "
          f"{result['budget']} {'held' if result['budget_held'] else 'EXCEEDED'}; {result['kills']} kills; "
          f"tracebacks {result['tracebacks']}; {result['seconds']} s")
    record(args.result, result_of(args, result))


def result_of(args, result: dict) -> dict:
    """write_result's arguments: the soak's counts as figures, the records lost as headline."""
    lost = f"records lost ({args.seeds} seeds, {args.faults:.0%} faults, {args.kills} SIGKILLs)"
    return {"title": "Fault soak: faults, kills and resume", "headline": [lost], "summary": (
        f"`teamsrl generate` as a process against the fake OpenAI-compatible server with {args.faults:.0%} mixed "
        f"faults (429, 500, malformed JSON, hangs past the 1 s client timeout, connection resets), {args.seeds} "
        f"seeds, {args.kills} SIGKILLs at random points, each followed by `--resume`. Booking comes before "
        "sending, so the count can never fall short of what the server saw."), "figures": {
        "records completed": f"{result['completed']}/{result['seeds']}", "records duplicated": result["duplicated"],
        lost: result["lost"], "requests booked": result["requests_booked"], "queries booked": result["queries_booked"],
        "chat requests the server saw": result["http_requests"],
        f"budget ({result['budget']}) held": "yes" if result["budget_held"] else "no",
        "tracebacks": result["tracebacks"], "wall time (s)": result["seconds"]}}


if __name__ == "__main__":
    main()
