"""The main job's generation stage against the previous recipe, in the same run, on the embedded model.

Each round generates from the same shipped seeds twice (the order alternates between rounds):
- before: the engine at max_batch 8, answers one request at a time (up to 3, the first greedy),
  16 seeds in flight, constraints only where add_constraints drew one, 3 evolution steps;
- now: the main job's settings, read from `teamsrl pipeline`'s defaults (today: max_batch 64,
  answers two to a request (rows sharing one prefill) up to 4, 32 seeds in flight, every
  instruction carrying 1-3 constraints, 2 evolution steps).
It prints completion tokens/s (the figure report.json gives as `completion_tokens_per_second`),
verified records per minute and the ratios now / before per round, and writes the result
(`write_result`: the ratio's mean, min and max, and a row per round and recipe) to
results/generation_speed.json; `python -m docs.render` shows it.

    python benchmarks/generation_speed.py [--seeds 64] [--budget 400] [--rounds 2]
"""

import argparse
import time

from teamsrl_graph import Context, bind, generate, resources
from teamsrl_graph.commands import pipeline
from teamsrl_graph.common.results import write_result
from teamsrl_graph.dataio.seeds import load_seeds
from teamsrl_graph.models.chat import MAX_BATCH, LocalChatModel
from teamsrl_graph.models.factory import Models

BEFORE = ({"max_steps": 3, "answer_samples": 3, "sample_batch": 1, "constraints_per_instruction": 0,
           "max_constraints": 1}, 8, 16)  # (Context settings, engine max_batch, seeds in flight)
NOW_SETTINGS = ("max_steps", "answer_samples", "sample_batch", "constraints_per_instruction", "max_constraints")


def now_recipe() -> tuple[dict, int, int]:
    """The `teamsrl pipeline` defaults, read from its own options (max_batch empty: the engine's default)."""
    settings, concurrency = pipeline.generation_settings()
    return {name: settings[name] for name in NOW_SETTINGS}, settings["max_batch"] or MAX_BATCH, concurrency


RECIPES = {"before": BEFORE, "now": now_recipe()}


def one(name: str, seeds, budget: int, seed: int) -> dict:
    settings, max_batch, concurrency = RECIPES[name]
    context = Context(router="policy", budget=budget, seed=seed, answer_tokens=192, **settings)
    model = LocalChatModel(max_batch=max_batch)
    bind(context, models=Models(expert=model, reviewer=model, responder=model))
    started = time.perf_counter()
    records = generate(seeds, context=context, concurrency=concurrency, progress=False)
    seconds = time.perf_counter() - started
    ledger = resources(context).budget
    verified = sum(bool(r.get("constraints")) and r.get("constraints_ok") is True for r in records)
    return {"seconds": round(seconds, 1), "completion_tokens": ledger.completion_tokens, "queries": ledger.queries,
            "requests": ledger.requests, "records": len(records), "verified": verified,
            "tokens_per_second": round(ledger.completion_tokens / seconds, 2),
            "verified_per_minute": round(60 * verified / seconds, 2)}


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
    now, now_batch, now_flight = RECIPES["now"]
    mean = round(sum(ratios) / len(ratios), 3)
    columns = ["round", "recipe", "completion tokens/s", "verified records", "records", "verified per minute",
               "queries", "requests", "seconds"]
    rows = [[index + 1, name, r[name]["tokens_per_second"], r[name]["verified"], r[name]["records"],
             r[name]["verified_per_minute"], r[name]["queries"], r[name]["requests"], r[name]["seconds"]]
            for index, r in enumerate(rounds) for name in ("before", "now")]
    path = write_result(args.out, "Generation speed: the main job's recipe against the previous one", figures={
        "now / before, completion tokens/s (mean)": mean, "now / before (min)": min(ratios),
        "now / before (max)": max(ratios)}, columns=columns, rows=rows, summary=(
        f"The generation stage on the embedded model, {len(seeds)} shipped seeds and a budget of {args.budget} "
        "queries per run, both recipes in each round (order alternating). Before: engine max_batch 8, answers "
        "one per request (up to 3), 16 seeds in flight, 3 evolution steps, constraints only where add_constraints "
        f"drew one. Now (the `teamsrl pipeline` defaults): max_batch {now_batch}, answers {now['sample_batch']} per "
        f"request sharing one prefill (up to {now['answer_samples']}), {now_flight} seeds in flight, "
        f"1-{now['constraints_per_instruction']} constraints per instruction, {now['max_steps']} evolution steps."))
    print(f"now / before over {len(ratios)} rounds: mean {mean:.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f}) "
          f"-> {path}; python -m docs.render puts it into docs/results.md")


if __name__ == "__main__":
    main()
