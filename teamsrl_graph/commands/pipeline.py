"""`teamsrl pipeline`: the main job end to end — generate a dataset, fine-tune once, evaluate.

generate (the evolution graph, query budget) -> split usable records into train / held out ->
one LoRA fine-tuning step on the train part (DP-SGD at epsilon 4 by default) -> evaluation against
the base model (held-out loss, judged win rate, membership-inference audit). Each stage writes into
its own folder under --out, and `summary.json` plus one printed line close the run. Each stage is
also a command of its own.
"""

from __future__ import annotations

import argparse
import json

from . import generate as generate_command


def add_arguments(p: argparse.ArgumentParser):
    generate_command.add_arguments(p, out="runs/pipeline", budget=300, router="policy", max_steps=3)
    p.add_argument("--heldout", type=float, default=0.25, help="fraction of records held out for evaluation")
    p.add_argument("--epochs", type=float, default=3.0, help="fine-tuning passes over the data")
    p.add_argument("--dp-epsilon", type=float, default=4.0,
                   help="fine-tune with DP-SGD to this privacy budget epsilon (default 4); 0 = plain LoRA")
    p.add_argument("--judge-pairs", type=int, default=12, help="held-out instructions judged base vs fine-tuned")
    p.add_argument("--ifbench", type=int, default=40, metavar="N",
                   help="IFBench prompts (a fixed subset) answered and verified, base vs fine-tuned; 0 skips it")


def run(args) -> int:
    import time
    from pathlib import Path

    from ..errors import InputError
    from ..evaluation import EvalConfig, evaluate, table
    from ..files import write_json
    from ..records import split_heldout
    from ..sft import SFTRunConfig, finetune

    started, out = time.monotonic(), Path(args.out)
    seeds, context = generate_command.settings(args)
    records = generate_command.produce(args, seeds, context, out / "generate")
    usable = [r for r in records if r["response_ok"] and r["response"].strip()]
    if len(usable) < 4:
        raise InputError(f"only {len(usable)} usable records were generated; raise --budget", field="--budget")
    train, heldout = split_heldout(usable, args.heldout, args.seed)
    config = SFTRunConfig(epochs=args.epochs, seed=args.seed, dp_epsilon=args.dp_epsilon)
    dataset = out / "generate" / "dataset.jsonl"  # named and hashed in the adapter's model card
    tuned = finetune(train, out / "finetune", config, data_file=dataset if dataset.is_file() else None,
                     heldout=len(heldout))
    members = tuned.trained_on(train)
    report = evaluate(tuned.adapter_dir, heldout, members, out / "eval",
                      EvalConfig(judge_pairs=args.judge_pairs, ifbench=args.ifbench))
    with open(out / "generate" / "report.json") as f:
        generation = json.load(f)

    summary = {
        "queries": generation["queries"]["total"],
        "budget": args.budget,
        "records": len(records),
        "train_records": len(members),
        "validation_records": len(train) - len(members),
        "heldout_records": len(heldout),
        "accepted_evolutions": generation["accepted"],
        "eliminated_evolutions": generation["eliminated"],
        "loss": {"first": tuned.smoothed[0], "last": tuned.smoothed[-1], "smoothed": True},
        "win_rate": (report.get("win_rate") or {}).get("win_rate"),
        "compliance": generation["verification"]["prompt_strict"],
        "reference_loss": report.get("reference_loss"),
        "ifbench_prompt_loose": {m: round(report["ifbench"][m]["prompt_loose"]["accuracy"], 4)
                                 for m in ("base", "finetuned")} if "ifbench" in report else None,
        "mia_auc": {k: v for k, v in report["membership_inference"].items() if "_auc" in k or k == "chance_band"},
        "differential_privacy": tuned.card["differential_privacy"],
        "seconds": round(time.monotonic() - started, 1),
    }
    write_json(out / "summary.json", summary)
    print(table(report))
    print(f"pipeline: {summary['queries']}/{args.budget} queries -> {len(records)} records "
          f"({summary['accepted_evolutions']} evolutions accepted, {summary['eliminated_evolutions']} eliminated); "
          f"fine-tuned on {len(members)}, smoothed loss {tuned.smoothed[0]:.3f} -> {tuned.smoothed[-1]:.3f}; "
          f"answers meeting their constraints {summary['compliance']}; IFBench loose {summary['ifbench_prompt_loose']}; "
          f"reference loss {(summary['reference_loss'] or {}).get('base')} -> {(summary['reference_loss'] or {}).get('finetuned')}; "
          f"win rate {summary['win_rate']}; MIA AUC loss {summary['mia_auc'].get('loss_auc')}, ratio "
          f"{summary['mia_auc'].get('loss_ratio_auc')} (95% bootstrap {summary['mia_auc'].get('loss_ratio_auc_interval')}; "
          f"0.5 = no leak; no leak scores {summary['mia_auc'].get('chance_band')} at these sizes); "
          f"{summary['seconds'] / 60:.1f} min -> {out}/summary.json")
    return 0
