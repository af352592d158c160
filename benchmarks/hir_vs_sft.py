"""HIR against rejection-sampling fine-tuning (SFT on correct samples only) and the base model.

Both methods start from the same base model and LoRA settings and get the same budget: the same
task instances, the same number of samples per instance and rounds, and the same optimizer steps
and batch size. They differ only in what they train on: SFT keeps the correct samples and uses a
plain cross-entropy; HIR relabels every sample and adds the contrastive and entropy terms. All
three are scored greedily on the same held-out instances (never seen in training).

    nice -n 10 python benchmarks/hir_vs_sft.py --task arithmetic --difficulty 1 --out runs/hir_vs_sft

Prints a table and writes OUT/results.json, OUT/accuracy.png and each method's run folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

from teamsrl_graph import plots
from teamsrl_graph.hir.config import HIRConfig
from teamsrl_graph.hir.trainer import HIRTrainer
from teamsrl_graph.models import local


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="arithmetic")
    parser.add_argument("--difficulty", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--prompts", type=int, default=16, help="instances sampled per round")
    parser.add_argument("--samples", type=int, default=4, help="samples per instance (k)")
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps per round")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--eval-instances", type=int, default=48)
    parser.add_argument("--label-smoothing", type=float, default=HIRConfig.label_smoothing, help="HIR only")
    parser.add_argument("--hindsight-weight", type=float, default=HIRConfig.hindsight_weight, help="HIR only")
    parser.add_argument("--contrastive-weight", type=float, default=HIRConfig.contrastive_weight, help="HIR only")
    parser.add_argument("--entropy-weight", type=float, default=HIRConfig.entropy_weight, help="HIR only")
    parser.add_argument("--subspan", action="store_true", help="HIR only: sub-span relabeling")
    parser.add_argument("--methods", nargs="+", default=["SFT on correct", "HIR"], help="which methods to run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/hir_vs_sft")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    out = Path(args.out)
    common = HIRConfig(task=args.task, difficulty=args.difficulty, rounds=args.rounds, prompts_per_round=args.prompts,
                       samples=args.samples, steps_per_round=args.steps, batch_size=args.batch_size,
                       learning_rate=args.lr, eval_instances=args.eval_instances, seed=args.seed)
    methods = {
        "SFT on correct": replace(common, keep_wrong=False, label_smoothing=0.0, contrastive_weight=0.0,
                                  entropy_weight=0.0, output_dir=str(out / "sft")),
        "HIR": replace(common, label_smoothing=args.label_smoothing, hindsight_weight=args.hindsight_weight,
                       contrastive_weight=args.contrastive_weight,
                       entropy_weight=args.entropy_weight, subspan=args.subspan, output_dir=str(out / "hir")),
    }
    curves, seconds, base = {}, {}, None
    for name, config in methods.items():
        if name not in args.methods:
            continue
        logging.info("%s: %s", name, {k: v for k, v in config.to_dict().items() if k != "lora"})
        start = time.monotonic()
        model, tokenizer = local.load()
        trainer = HIRTrainer(config, model, tokenizer)
        history = trainer.train(start_accuracy=base)  # round 0 is the base model, the same for both
        trainer.save()
        base = history[0]["accuracy"]
        curves[name], seconds[name] = [e["accuracy"] for e in history], round(time.monotonic() - start)

    rows = {"base": base, **{name: curve[-1] for name, curve in curves.items()}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"args": vars(args), "accuracy": rows, "curves": curves,
                                                  "seconds": seconds}, indent=2), encoding="utf-8")
    plots.line_plot(out / "accuracy.png", curves, xlabel="round", ylabel="held-out accuracy",
                    title=f"{args.task} (difficulty {args.difficulty}), {args.eval_instances} held-out instances")
    print(f"\n{args.task}, difficulty {args.difficulty}: {args.eval_instances} held-out instances, "
          f"{args.rounds} rounds x {args.prompts} instances x {args.samples} samples, {args.steps} steps/round")
    print("| method | held-out accuracy | seconds |\n|---|---|---|")
    for name, accuracy in rows.items():
        print(f"| {name} | {accuracy:.3f} | {seconds.get(name, '')} |")


if __name__ == "__main__":
    main()
