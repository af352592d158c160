"""The main job's generation stage against the previous recipe, in the same run, on the embedded model.

Each round generates from the same shipped seeds twice (the order alternates between rounds):
- before: the engine at max_batch 8, answers one request at a time (up to 3, the first greedy),
  16 seeds in flight, constraints only where add_constraints drew one, 3 evolution steps;
- now: the main job's settings (`teamsrl pipeline` defaults): max_batch 32, answers two to a request
  (rows sharing one prefill) up to 8, 32 seeds in flight, every instruction carrying 1-3
  constraints, 2 evolution steps.
It prints completion tokens/s (the figure report.json gives as `completion_tokens_per_second`),
verified records per minute and the ratios now / before per round, and writes the figures to
results/generation_speed.json.

    python benchmarks/generation_speed.py [--seeds 64] [--budget 400] [--rounds 2]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from teamsrl_graph import Context, bind, generate
from teamsrl_graph.dataio.seeds import load_seeds
from teamsrl_graph.models.chat import LocalChatModel
from teamsrl_graph.models.factory import Models

RECIPES = {
    "before": ({"max_steps": 3, "answer_samples": 3, "sample_batch": 1, "constraints_per_instruction": 0,
                "max_constraints": 1}, 8, 16),
    "now": ({"max_steps": 2, "answer_samples": 8, "sample_batch": 2, "constraints_per_instruction": 3,
             "max_constraints": 1}, 32, 32),
}  # name -> (Context settings, engine max_batch, seeds in flight)


def one(name: str, seeds, budget: int, seed: int) -> dict:
    settings, max_batch, concurrency = RECIPES[name]
    context = Context(router="policy", budget=budget, seed=seed, answer_tokens=192, **settings)
    model = LocalChatModel(max_batch=max_batch)
    bind(context, models=Models(expert=model, reviewer=model, responder=model))
    started = time.perf_counter()
    records = generate(seeds, context=context, concurrency=concurrency, progress=False)
    seconds = time.perf_counter() - started
    from teamsrl_graph import resources

    ledger = resources(context).budget
    verified = sum(bool(r.get("constraints")) and r.get("constraints_ok") is True for r in records)
    return {"seconds": round(seconds, 1), "completion_tokens": ledger.completion_tokens, "queries": ledger.queries,
            "requests": ledger.requests, "records": len(records), "verified": verified,
            "tokens_per_second": round(ledger.completion_tokens / seconds, 2),
            "verified_per_minute": round(60 * verified / seconds, 2)}


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=64, help="shipped seeds each run draws from")
    ap.add_argument("--budget", type=int, default=400, help="queries per run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default="results/generation_speed.json")
    args = ap.parse_args()
    seeds = load_seeds()[: args.seeds]
    rounds = []
    for index in range(args.rounds):
        order = ["before", "now"] if index % 2 == 0 else ["now", "before"]
        runs = {name: one(name, seeds, args.budget, index) for name in order}
        ratio = runs["now"]["tokens_per_second"] / runs["before"]["tokens_per_second"]
        rounds.append({**runs, "tokens_per_second_ratio": round(ratio, 3)})
        for name in ("before", "now"):
            r = runs[name]
            print(f"round {index + 1} {name:6s}: {r['tokens_per_second']:6.1f} tok/s, {r['verified']:3d} verified of "
                  f"{r['records']} records in {r['seconds']:.0f} s ({r['verified_per_minute']:.1f}/min), "
                  f"{r['queries']} queries in {r['requests']} requests")
        print(f"round {index + 1} now / before: {ratio:.2f}x tokens/s")
    ratios = [r["tokens_per_second_ratio"] for r in rounds]
    result = {"title": "Generation speed: the main job's recipe against the previous one",
              "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]), "commit": commit(),
              "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
              "settings": {k: {"context": v[0], "max_batch": v[1], "concurrency": v[2]} for k, v in RECIPES.items()},
              "rounds": rounds,
              "figures": {"tokens_per_second_ratio": {"mean": round(sum(ratios) / len(ratios), 3),
                                                      "min": min(ratios), "max": max(ratios)}}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"now / before over {len(ratios)} rounds: mean {result['figures']['tokens_per_second_ratio']['mean']:.2f}x "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}) -> {args.out}")


if __name__ == "__main__":
    main()
