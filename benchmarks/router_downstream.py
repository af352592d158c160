"""Does the learned router build better data per query? Random, fixed and learned routers, end to end.

Each router builds a dataset from the same unseen seeds (examples/unseen_seeds*.txt; no router was
trained on them) under the same query cap. Per router it prints:

- queries booked, and expert queries (rewrites and answers: the paper's measure) per accepted-and-
  verified record: a record with at least one accepted evolution whose answer met every verifiable
  constraint its instruction carries (records without constraints do not count);
- diversity: the mean pairwise cosine distance of the final instructions' MiniLM embeddings;
- action-mix entropy: Shannon entropy (bits) of the operations applied (log2 6 = 2.585 is uniform),
  and the largest single operation's share;
- where evolution stopped: records whose path ended at each depth (STOP, or the cap ran out);

then fine-tunes the base model once per dataset with identical LoRA settings (its usable records,
a fifth held out) and scores every fine-tuned model on the same fixed IFBench subset (accuracy with
standard errors; the base model's score is printed once). `--sweep` adds more query caps for the
learned router only, to see how few queries reach random's accuracy. The table and the comparison
also go to a result file for the docs (`--result`, default results/router_downstream_<budget>.json;
empty to skip).

    python benchmarks/router_downstream.py [--budget 120] [--ifbench 30] [--sweep 60 240] [--out runs/router_downstream] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from pathlib import Path

from teamsrl_graph.common.embeddings import diversity
from teamsrl_graph.common.files import read_jsonl, write_json
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.dataio.records import split_heldout
from teamsrl_graph.dataio.seeds import load_seeds
from teamsrl_graph.evaluation import EvalConfig, evaluate
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.running.run import generate
from teamsrl_graph.sft import SFTRunConfig, finetune, trained_on
from teamsrl_graph.sft.data import to_conversations

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAMES = {"random": "random (WizardLM)", "fixed": "fixed (TeaMs-RL release)", "policy": "learned"}


def entropy_bits(counts: Counter) -> float:
    total = sum(counts.values())
    return max(0.0, -sum(c / total * math.log2(c / total) for c in counts.values() if c)) if total else 0.0


def dataset_measures(records: list[dict], report: dict, max_steps: int) -> dict:
    ops = Counter(s["op"] for r in records for s in r["path"])
    good = [r for r in records if any(s["accepted"] for s in r["path"]) and r["response_ok"] and r.get("constraints_ok") is True]
    by_role = report["queries"].get("by_role", {})
    expert = by_role.get("expert", 0) + by_role.get("responder", 0)
    total = sum(ops.values())
    return {
        "queries": report["queries"]["total"], "expert": expert, "records": len(records),
        "accepted_verified": len(good), "expert_per_good": expert / len(good) if good else float("inf"),
        "diversity": diversity([r["instruction"] for r in records]),
        "entropy": entropy_bits(ops), "top_share": max(ops.values()) / total if total else 0.0,
        "ops": dict(ops), "ended_at": [sum(len(r["path"]) == k for r in records) for k in range(max_steps + 1)],
    }


def build_and_score(name: str, budget: int, seeds, args) -> dict:
    out = Path(args.out) / f"{name}-{budget}"
    context = Context(router=name, max_steps=args.max_steps, budget=budget, seed=args.seed,
                      answer_tokens=args.answer_tokens)
    reuse = args.reuse and (out / "generate" / "report.json").is_file()
    if reuse:  # a finished generation of an earlier, interrupted run of this benchmark
        records = read_jsonl(out / "generate" / "dataset.jsonl")
    else:
        records = generate(seeds, out=out / "generate", context=context, concurrency=args.concurrency,
                           overwrite=True, progress=False)
    report = json.loads((out / "generate" / "report.json").read_text())
    row = dataset_measures(records, report, args.max_steps)
    usable = [r for r in records if r["response_ok"]]
    train, heldout = split_heldout(usable, 0.2, args.seed)
    card_path = out / "finetune" / "run_card.json"
    if reuse and card_path.is_file():
        adapter, card = out / "finetune" / "adapter", json.loads(card_path.read_text())
    else:
        tuned = finetune(to_conversations(train), out / "finetune", SFTRunConfig(seed=args.seed))
        adapter, card = tuned.adapter_dir, tuned.card
    members = trained_on(card, train)
    eval_path = out / "eval" / "eval.json"
    if reuse and card_path.is_file() and eval_path.is_file():
        scores = json.loads(eval_path.read_text())["ifbench"]["scores"]
    else:
        scores = evaluate(adapter, to_conversations(heldout), to_conversations(members), out / "eval",
                          EvalConfig(judge="", ifbench=args.ifbench, reference=False))["ifbench"]["scores"]
    row.update(trained_on=len(members), ifbench=scores["finetuned"], base=scores["base"])
    print(f"{name} @ {budget}: {json.dumps({k: v for k, v in row.items() if k not in ('ifbench', 'base')})}", flush=True)
    return row


def cell(score: dict) -> str:
    return f"{score['accuracy']:.3f} ± {score['stderr']:.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", default=[str(EXAMPLES / "unseen_seeds.txt"), str(EXAMPLES / "unseen_seeds_more.txt")])
    ap.add_argument("--budget", type=int, default=120, help="query cap of every router's run")
    ap.add_argument("--sweep", type=int, nargs="*", default=[], help="more query caps, for the learned router only")
    ap.add_argument("--routers", nargs="+", default=["random", "fixed", "policy"])
    ap.add_argument("--max-steps", type=int, default=3)
    ap.add_argument("--answer-tokens", type=int, default=192)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--ifbench", type=int, default=30, help="IFBench prompts (a fixed subset)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/router_downstream")
    ap.add_argument("--reuse", action="store_true",
                    help="keep the finished stages (generation, fine-tune, evaluation) an interrupted run left in --out")
    result_option(ap, "results/router_downstream_{budget}.json")
    args = ap.parse_args()
    seeds = [s for path in args.seeds for s in load_seeds(path)]
    rows = {(name, args.budget): build_and_score(name, args.budget, seeds, args) for name in args.routers}
    for budget in args.sweep:
        rows[("policy", budget)] = build_and_score("policy", budget, seeds, args)
    write_json(Path(args.out) / "results.json", {f"{n}@{b}": r for (n, b), r in rows.items()})
    table(rows, args, len(seeds))
    record(args.result.format(budget=args.budget), result_of(rows, args, len(seeds)))


COLUMNS = ["router", "queries", "expert queries / accepted-and-verified record", "accepted and verified",
           "diversity (MiniLM pairwise cosine distance)", "action entropy (bits)", "largest op share",
           "path ended at 0/1/2/3", "trained on", "IFBench prompt loose", "IFBench prompt strict"]


def cells(name: str, budget: int, r: dict, main_budget: int) -> list[str]:
    """One router's (and query cap's) row of the table (COLUMNS), as printed."""
    return [f"{NAMES[name]}{'' if budget == main_budget else f' @ {budget}'}", str(r["queries"]), f"{r['expert_per_good']:.2f}",
            str(r["accepted_verified"]), f"{r['diversity']:.3f}", f"{r['entropy']:.2f}", f"{r['top_share']:.2f}",
            "/".join(map(str, r["ended_at"])), str(r["trained_on"]), cell(r["ifbench"]["prompt_loose"]),
            cell(r["ifbench"]["prompt_strict"])]


def comparison(rows: dict, budget: int) -> dict | None:
    """Learned against random at `budget`: the expert-query ratio, random's IFBench prompt-loose, and the
    query caps at which the learned router's model reaches it (fewest first); None without both routers."""
    if ("policy", budget) not in rows or ("random", budget) not in rows:
        return None
    learned, random_ = rows[("policy", budget)], rows[("random", budget)]
    target = random_["ifbench"]["prompt_loose"]["accuracy"]
    return {"learned": learned, "random": random_, "ratio": learned["expert_per_good"] / random_["expert_per_good"],
            "target": target, "reaching": sorted(b for (n, b), r in rows.items()
                                                 if n == "policy" and r["ifbench"]["prompt_loose"]["accuracy"] >= target)}


def table(rows: dict, args, n_seeds: int):
    base = next(iter(rows.values()))["base"]
    print(f"\n{n_seeds} unseen seeds, max {args.max_steps} steps; IFBench: {base['prompts']} prompts, "
          f"base model prompt-loose {cell(base['prompt_loose'])}, prompt-strict {cell(base['prompt_strict'])}\n")
    print("| " + " | ".join(COLUMNS) + " |\n" + "|---" * len(COLUMNS) + "|")
    for (name, budget), r in rows.items():
        print("| " + " | ".join(cells(name, budget, r, args.budget)) + " |")
    c = comparison(rows, args.budget)
    if c:
        learned, random_, target = c["learned"], c["random"], c["target"]
        print(f"\nlearned / random expert queries per accepted-and-verified record: {c['ratio']:.3f} (target <= 0.5)")
        print(f"diversity learned {learned['diversity']:.3f} vs random {random_['diversity']:.3f}; largest op share "
              f"learned {learned['top_share']:.2f}; IFBench prompt-loose learned "
              f"{learned['ifbench']['prompt_loose']['accuracy']:.3f} vs random {target:.3f}")
        if c["reaching"]:
            print(f"fewest queries at which the learned router's model reaches random's IFBench prompt-loose ({target:.3f}): "
                  f"{c['reaching'][0]} of {args.budget}, ratio {c['reaching'][0] / args.budget:.3f} (TeaMs-RL's mark: 0.0573)")
        else:
            print(f"no learned budget reached random's IFBench prompt-loose ({target:.3f})")


def result_of(rows: dict, args, n_seeds: int) -> dict:
    """write_result's arguments: the printed table, and the learned / random comparison as figures."""
    base = next(iter(rows.values()))["base"]
    result = {"title": f"Routers downstream: learned against random at {args.budget} queries", "summary": (
        f"Each router builds a dataset from the same {n_seeds} unseen seeds (at most {args.max_steps} steps) under a cap "
        f"of {args.budget} queries; each dataset gets one LoRA fine-tune with identical settings, and each model answers "
        f"the same {base['prompts']} IFBench prompts (base model: prompt loose {cell(base['prompt_loose'])}, strict "
        f"{cell(base['prompt_strict'])}). An accepted-and-verified record has an accepted evolution and an answer that "
        "met every constraint its instruction carries. Target: learned / random expert queries per such record ≤ 0.5."),
        "columns": COLUMNS, "rows": [cells(name, budget, r, args.budget) for (name, budget), r in rows.items()]}
    c = comparison(rows, args.budget)
    if c:
        result["figures"] = {"learned ÷ random expert queries per accepted-and-verified record":
                                 round(c["ratio"], 3) if math.isfinite(c["ratio"]) else "inf",
                             "fewest queries at which learned reaches random's IFBench prompt loose":
                                 f"{c['reaching'][0]} of {args.budget}" if c["reaching"] else "none tried"}
    return result


if __name__ == "__main__":
    main()
