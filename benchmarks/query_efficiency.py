"""Query efficiency of the learned router against the random and the fixed router, in one run.

On seeds the policy was not trained on (by default examples/unseen_seeds.txt and
examples/unseen_seeds_more.txt), with the same model, depth and query budget for each, runs
`generate` with every router and prints, per router:

- queries per accepted evolution: of the expert model (rewrites and answers, the paper's measure)
  and of all LLM calls (reviews too); all queries per evolved instruction (a record whose final
  instruction differs from its seed and got a usable answer);
- accepted evolutions and evolved instructions;
- mean reviewer score over all evolution steps (0 for eliminated ones);
- diversity: mean pairwise cosine distance of the final instructions' MiniLM embeddings;
- complexity: mean words of the final instructions.

It ends with learned / random queries-per-accepted ratios (target <= 0.5), and writes the table and
the ratios to a result file for the docs (`--result`, empty to skip).

    python benchmarks/query_efficiency.py [--budget 150] [--max-steps 3] [--policy PATH] [--greedy] [--out DIR]
                                          [--result results/query_efficiency.json]
"""

import argparse
import math
from pathlib import Path

import torch

from teamsrl_graph.common.embeddings import diversity
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.dataio.seeds import load_seeds
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.evolve.resources import bind
from teamsrl_graph.evolve.review import words
from teamsrl_graph.running.budget import Budget
from teamsrl_graph.running.run import generate

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
COLUMNS = ["queries", "expert", "records", "accepted", "q/accepted", "expert q/accepted", "evolved", "q/evolved", "score",
           "diversity", "words", "steps"]
RATIOS = ("expert q/accepted", "q/accepted", "q/evolved")


def measure(records: list[dict], ledger: Budget) -> dict:
    steps = [s for r in records for s in r["path"]]
    accepted = sum(s["accepted"] for s in steps)
    evolved = sum(r["response_ok"] and r["instruction"] != r["seed"] for r in records)
    finals = [r["instruction"] for r in records]
    expert = ledger.by_role.get("expert", 0) + ledger.by_role.get("responder", 0)  # the expert model's calls
    return {
        "queries": ledger.queries,
        "expert": expert,
        "records": len(records),
        "accepted": accepted,
        "q/accepted": ledger.queries / accepted if accepted else float("inf"),
        "expert q/accepted": expert / accepted if accepted else float("inf"),
        "evolved": evolved,
        "q/evolved": ledger.queries / evolved if evolved else float("inf"),
        "score": sum(s["score"] for s in steps) / len(steps) if steps else 0.0,
        "diversity": diversity(finals),
        "words": sum(len(words(t)) for t in finals) / len(finals) if finals else 0.0,
        "steps": len(steps) / len(records) if records else 0.0,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", nargs="+", default=[str(EXAMPLES / "unseen_seeds.txt"), str(EXAMPLES / "unseen_seeds_more.txt")])
    ap.add_argument("--budget", type=int, default=150, help="query cap of each router's run")
    ap.add_argument("--max-steps", type=int, default=3, help="evolution depth (the shipped policy trained with 3)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--answer-tokens", type=int, default=64, help="answer length cap (answers are not scored here)")
    ap.add_argument("--policy", help="policy file (default: the shipped one)")
    ap.add_argument("--greedy", action="store_true", help="the learned router takes its most likely action instead of sampling one")
    ap.add_argument("--routers", nargs="+", default=["policy", "random", "fixed"])
    ap.add_argument("--out", help="folder for each router's dataset (OUT/ROUTER/dataset.jsonl), to read the instructions")
    result_option(ap, "results/query_efficiency.json")
    args = ap.parse_args()

    torch.manual_seed(0)
    seeds = [s for path in args.seeds for s in load_seeds(path)]
    rows = {}
    for name in args.routers:
        context = Context(router=name, policy=args.policy, max_steps=args.max_steps, answer_tokens=args.answer_tokens,
                          budget=args.budget, routing="greedy" if args.greedy else "sample")
        ledger = bind(context).budget
        out = Path(args.out) / name if args.out else None
        records = generate(seeds, out=out, context=context, concurrency=args.concurrency, progress=False, overwrite=True)
        rows[name] = measure(records, ledger)
        actions = {}
        for r in records:
            for s in r["path"]:
                actions[s["op"]] = actions.get(s["op"], 0) + 1
        print(f"{name}: {rows[name]} actions={actions}", flush=True)

    print(f"\n{len(seeds)} unseen seeds, budget {args.budget} queries per router, max {args.max_steps} steps\n")
    print("| router | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in COLUMNS) + " |")
    for metric, ratio in ratios(rows).items():
        print(f"learned / random {metric}: {ratio:.3f} (target <= 0.5: {'met' if ratio <= 0.5 else 'missed'})")
    record(args.result, result_of(rows, len(seeds), args.budget, args.max_steps))


def ratios(rows: dict) -> dict[str, float]:
    """learned / random per queries-per-X measure, when both routers ran."""
    if "policy" not in rows or "random" not in rows:
        return {}
    return {metric: rows["policy"][metric] / rows["random"][metric] for metric in RATIOS}


def result_of(rows: dict, seeds: int, budget: int, max_steps: int) -> dict:
    """write_result's arguments: the printed table (a row per router) and the learned / random ratios."""
    def number(value):  # JSON has no infinity: a router with nothing accepted shows "inf", as printed
        return value if not isinstance(value, float) else round(value, 3) if math.isfinite(value) else "inf"

    result = {"title": "Query efficiency: learned router against random and fixed", "summary": (
        f"Each router evolves the same {seeds} unseen seeds with the same model, at most {max_steps} steps and a cap "
        f"of {budget} queries: queries (all, and the expert model's: rewrites and answers) per accepted evolution "
        "and per evolved instruction, the mean reviewer score of a step, diversity (mean pairwise MiniLM cosine "
        "distance of the final instructions), mean words and steps per record. Target: learned / random at most 0.5."),
        "columns": ["router", *COLUMNS], "rows": [[name, *(number(row[c]) for c in COLUMNS)] for name, row in rows.items()]}
    if ratios(rows):
        result["figures"] = {f"learned ÷ random {metric}": number(ratio) for metric, ratio in ratios(rows).items()}
    return result


if __name__ == "__main__":
    main()
