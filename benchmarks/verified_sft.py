"""Verified vs unverified data at the same query budget, on the external IFBench yardstick.

Two generation runs over the same seeds with the same cap on queries:
- verified: every answer is checked against the constraints its instruction carries, up to
  `--samples` answers are tried, and only records whose answer passed are trained on;
- unverified: one answer per instruction, kept whatever the checks say (the queries saved on
  resampling go to more seeds).
Each dataset gets one LoRA fine-tune with identical settings; base and both adapters answer the same
fixed IFBench subset (prompts no run saw) and the benchmark's own verifiers score them. Prints
prompt-level and instruction-level accuracy (loose and strict) with standard errors, the reference-
answer loss and the membership-inference AUCs, and writes the table to a result file for the docs
(`--result`, empty to skip).

    python benchmarks/verified_sft.py [--budget 300] [--ifbench 60] [--out runs/verified_sft] [--result results/verified_sft.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.dataio.records import split_heldout
from teamsrl_graph.evaluation import EvalConfig, evaluate
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.running.run import generate
from teamsrl_graph.sft import SFTRunConfig, finetune
from teamsrl_graph.sft.data import to_conversations


def arm(name: str, seeds, args, samples: int, verified_only: bool) -> dict:
    out = Path(args.out) / name
    context = Context(router=args.router, max_steps=args.max_steps, budget=args.budget, answer_samples=samples,
                      seed=args.seed)
    records = generate(seeds, out=out / "generate", context=context, overwrite=True, progress=False)
    usable = [r for r in records if r["response"].strip() and (r["response_ok"] or (not verified_only and r.get("constraints_ok") is False))]
    train, heldout = split_heldout(usable, 0.2, args.seed)
    tuned = finetune(to_conversations(train, verified_only=verified_only), out / "finetune", SFTRunConfig(seed=args.seed))
    members = tuned.trained_on(train)
    report = evaluate(tuned.adapter_dir, to_conversations(heldout, verified_only=verified_only),
                      to_conversations(members, verified_only=verified_only), out / "eval",
                      EvalConfig(judge="", ifbench=args.ifbench))
    queries = json.loads((out / "generate" / "report.json").read_text())["queries"]["total"]
    return {"records": len(records), "trained_on": len(members), "queries": queries, "eval": report}


COLUMNS = ["model", "prompt loose", "prompt strict", "instruction loose", "instruction strict", "data"]


def rows_of(results: dict) -> list[list[str]]:
    """The table (COLUMNS): the base model, then each arm's fine-tuned model with what it trained on."""
    def row(name: str, scores: dict, data: str) -> list[str]:
        return [name, *(f"{scores[k]['accuracy']:.3f} ± {scores[k]['stderr']:.3f}"
                        for k in ("prompt_loose", "prompt_strict", "instruction_loose", "instruction_strict")), data]

    rows = [row("base", results["verified"]["eval"]["ifbench"]["scores"]["base"], "none")]
    for name, r in results.items():
        e = r["eval"]
        data = (f"{r['trained_on']} records ({r['queries']} queries); reference loss {e['reference_loss']['finetuned']} "
                f"(base {e['reference_loss']['base']}); MIA AUC {e['membership_inference']['loss_ratio_auc']}")
        rows.append(row(f"fine-tuned, {name}", e["ifbench"]["scores"]["finetuned"], data))
    return rows


def result_of(results: dict, budget: int) -> dict:
    """write_result's arguments: the printed table."""
    prompts = results["verified"]["eval"]["ifbench"]["scores"]["base"]["prompts"]
    return {"title": "Fine-tuning on verified against unverified data", "summary": (
        f"Two generation runs over the same seeds with the same cap of {budget} queries: one tries several answers "
        "per instruction and keeps only records whose answer met its constraints, the other keeps one answer per "
        f"instruction whatever the checks say. One LoRA fine-tune each with identical settings; base and both "
        f"adapters answer the same {prompts} IFBench prompts, scored by the benchmark's own verifiers (accuracy ± "
        "standard error)."), "columns": COLUMNS, "rows": rows_of(results)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", help="seed file (default: the shipped seeds)")
    ap.add_argument("--budget", type=int, default=300, help="queries per generation run")
    ap.add_argument("--samples", type=int, default=3, help="answers tried per instruction in the verified run")
    ap.add_argument("--router", default="random")
    ap.add_argument("--max-steps", type=int, default=3)
    ap.add_argument("--ifbench", type=int, default=60, help="IFBench prompts (fixed subset)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/verified_sft")
    result_option(ap, "results/verified_sft.json")
    args = ap.parse_args()
    results = {"verified": arm("verified", args.seeds, args, args.samples, True),
               "unverified": arm("unverified", args.seeds, args, 1, False)}
    (Path(args.out) / "results.json").write_text(json.dumps(results, indent=2))
    base = results["verified"]["eval"]["ifbench"]["scores"]["base"]
    print(f"\nIFBench, {base['prompts']} prompts; budget {args.budget} queries per run\n")
    print("| " + " | ".join(COLUMNS) + " |\n" + "|---" * len(COLUMNS) + "|")
    for cells in rows_of(results):
        print("| " + " | ".join(cells) + " |")
    record(args.result, result_of(results, args.budget))


if __name__ == "__main__":
    main()
