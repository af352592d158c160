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

It ends with learned / random queries-per-accepted ratios (target <= 0.5).

    python benchmarks/query_efficiency.py [--budget 150] [--max-steps 3] [--policy PATH] [--greedy] [--out DIR]
"""

import argparse
from pathlib import Path

import torch

from teamsrl_graph.running.budget import Budget
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.common.embeddings import diversity
from teamsrl_graph.evolve.resources import bind
from teamsrl_graph.evolve.review import words
from teamsrl_graph.running.run import generate
from teamsrl_graph.dataio.seeds import load_seeds

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


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
    cols = ["queries", "expert", "records", "accepted", "q/accepted", "expert q/accepted", "evolved", "q/evolved", "score", "diversity", "words", "steps"]
    print("| router | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in cols) + " |")
    if "policy" in rows and "random" in rows:
        for metric in ("expert q/accepted", "q/accepted", "q/evolved"):
            ratio = rows["policy"][metric] / rows["random"][metric]
            print(f"learned / random {metric}: {ratio:.3f} (target <= 0.5: {'met' if ratio <= 0.5 else 'missed'})")


if __name__ == "__main__":
    main()
