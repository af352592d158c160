"""Choosing the main job's fine-tune on the project's own validation split: the trainer (sft on the
verified answers, or rlvr: GRPO rewarded by the verifiers), learning rate, number of epochs,
validation losses per epoch (how often early stopping looks) and adapter (LoRA rank, which layers).

Takes the records of one generation run (a main-job run's `generate/dataset.jsonl`), splits them as
the main job does, and fine-tunes once per (trainer, adapter, learning rate, most epochs, evaluations
per epoch) setting through the main job's own `pipeline.fine_tune` (epochs and evaluations are sft's;
an rlvr row takes --rl-steps, --rl-prompts and --rl-samples instead). Every adapter and the base
model answer the same validation constrained instructions: the shipped validation tasks (never
seeds, never evaluated on) with 1-3 constraints drawn under their own seed and worded in training
phrasings, so neither the evaluation's tasks nor its held-out wordings take part in the choice. Per
setting it prints and writes validation prompt-level strict accuracy base vs fine-tuned (McNemar p),
reference-answer loss, the MIA loss-ratio AUC and the training time, then the chosen setting: the
largest validation gain, ties (within one prompt) to the lower reference-answer loss. It does not
touch IFBench. `--seed-level` asks whether the graph's evolution is what the fine-tune fails to
learn from: each record's instruction becomes its seed task stated with the record's own constraints
in training phrasings (`seed_level`), split and constraints unchanged.

    python benchmarks/finetune_settings.py --records runs/demo/generate/dataset.jsonl [--trainer sft rlvr]
        [--lr 3e-4 1e-3 (default: each trainer's main-job rate)]
        [--epochs 1 3] [--evaluations 1 4] [--rank 8 16] [--modules attention all-linear]
        [--rl-steps 16 --rl-prompts 8 --rl-samples 4] [--seed-level]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
from pathlib import Path

from teamsrl_graph.commands.pipeline import (RL_PROMPTS, RL_SAMPLES, RL_STEPS, TRAINERS, fine_tune, trainer_config,
                                             validation_constrained)
from teamsrl_graph.common.files import read_jsonl, write_jsonl
from teamsrl_graph.common.lora import MODULES, LoraSettings
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.constraints.compose import REPEAT
from teamsrl_graph.constraints.heldout import training_instruction
from teamsrl_graph.dataio.records import usable
from teamsrl_graph.evaluation import EvalConfig, evaluate, headline


def setting(args, trainer: str, adapter: tuple[int, str], lr: float | None, epochs: float, evaluations: int,
            records: list[dict], items: Path) -> dict:
    rank, modules = adapter
    rate = "default" if lr is None else format(lr, "g")
    length = (f"epochs{epochs:g}-evaluations{evaluations}" if trainer == "sft"
              else f"steps{args.rl_steps}x{args.rl_prompts}x{args.rl_samples}")
    out = Path(args.out) / f"{trainer}-r{rank}-{modules}-lr{rate}-{length}"
    lora = LoraSettings(r=rank, alpha=2 * rank, target_modules=list(MODULES[modules]))  # alpha / r = 2 at every rank
    config = trainer_config(seed=args.seed, epochs=epochs, lr=lr, evaluations=evaluations, trainer=trainer, lora=lora,
                            rl=(args.rl_steps, args.rl_prompts, args.rl_samples))
    tuned, train, heldout = fine_tune(records, out, config, heldout=args.heldout)
    report = evaluate(tuned.adapter_dir, heldout, tuned.trained_on(train), out / "eval",
                      EvalConfig(judge="", ifbench=0, constrained=str(items), answer_tokens=args.answer_tokens))
    figures = headline(report)
    mia = report["membership_inference"]
    stopped = tuned.card["validation"] or {}
    return {"trainer": trainer, "adapter": f"r{rank} {modules}", "lr": tuned.card["config"]["learning_rate"],
            "epochs": epochs if trainer == "sft" else None, "evaluations": evaluations if trainer == "sft" else None,
            "best_step": stopped.get("best_step"), "steps": tuned.card["steps"],
            "validation": figures["heldout_constrained"], "reference_loss": figures["reference_loss"],
            "mia_loss_ratio_auc": mia.get("loss_ratio_auc"), "mia_interval": mia.get("loss_ratio_auc_interval"),
            "train_seconds": tuned.seconds}


def chosen(rows: list[dict]) -> dict:
    """The largest validation gain; within one prompt of it, the lowest reference-answer loss."""
    gain = lambda r: r["validation"]["finetuned"] - r["validation"]["base"]  # noqa: E731
    best = max(gain(r) for r in rows)
    close = [r for r in rows if gain(r) >= best - 1 / r["validation"]["n"] + 1e-9]
    return min(close, key=lambda r: r["reference_loss"]["finetuned"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", required=True, help="a generation run's dataset.jsonl")
    parser.add_argument("--trainer", nargs="+", default=["sft"], choices=TRAINERS,
                        help="sft: LoRA on the verified answers; rlvr: GRPO rewarded by the verifiers")
    parser.add_argument("--lr", type=float, nargs="+", default=[None],
                        help="learning rates (default: each trainer's main-job rate)")
    parser.add_argument("--epochs", type=float, nargs="+", default=[1.0, 3.0])
    parser.add_argument("--evaluations", type=int, nargs="+", default=[1], help="validation losses per epoch")
    parser.add_argument("--rank", type=int, nargs="+", default=[8], help="LoRA ranks (alpha = 2 x rank)")
    parser.add_argument("--modules", nargs="+", default=["attention"], choices=sorted(MODULES),
                        help="the layers the adapter trains")
    parser.add_argument("--rl-steps", type=int, default=RL_STEPS, help="rlvr: optimizer steps")
    parser.add_argument("--rl-prompts", type=int, default=RL_PROMPTS, help="rlvr: instructions a step")
    parser.add_argument("--rl-samples", type=int, default=RL_SAMPLES, help="rlvr: answers an instruction")
    parser.add_argument("--validation", type=int, default=140, help="validation constrained instructions")
    parser.add_argument("--answer-tokens", type=int, default=192, help="answer length cap (the main job's)")
    parser.add_argument("--heldout", type=float, default=0.15, help="records held out as the main job does")
    parser.add_argument("--seed", type=int, default=0, help="the main job's seed")
    parser.add_argument("--seed-level", action="store_true",
                        help="train on each record's seed task with its own constraints instead of its evolved instruction")
    parser.add_argument("--out", default="runs/finetune_settings")
    result_option(parser, "results/finetune_settings.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    records = read_jsonl(args.records)
    if args.seed_level:
        records = [seed_level(r, random.Random(f"seed-level:{args.seed}:{n}")) for n, r in enumerate(records)]
    trainable = [r for r in records if usable(r)]
    items = Path(args.out) / "validation_constrained.jsonl"
    items.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(items, validation_constrained(args.validation, args.seed))
    rows = [setting(args, trainer, (rank, modules), lr, epochs, evaluations, records, items)
            for trainer in args.trainer for rank in args.rank for modules in args.modules for lr in args.lr
            for epochs in (args.epochs if trainer == "sft" else [None])
            for evaluations in (args.evaluations if trainer == "sft" else [None])]
    (Path(args.out) / "settings.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    result = result_of(rows, len(trainable))
    print(json.dumps({"columns": result["columns"], "rows": result["rows"], "chosen": result["figures"]}, indent=1))
    record(args.result, result)


def seed_level(record: dict, rng: random.Random) -> dict:
    """`record` with its evolved instruction replaced by its seed task stated with the record's own
    constraints in training phrasings (a repeat_prompt constraint then repeats the seed task)."""
    task = record["seed"].strip()
    constraints = [{**c, "kwargs": {**c["kwargs"], "prompt_to_repeat": task}} if c["id"] == REPEAT else c
                   for c in record.get("constraints") or []]
    return {**record, "instruction": training_instruction(task, constraints, rng), "constraints": constraints}


COLUMNS = ["trainer", "adapter", "learning rate", "most epochs", "evaluations per epoch", "best step / steps", "n",
           "validation base", "validation fine-tuned", "gained / lost", "McNemar p", "reference loss base",
           "reference loss fine-tuned", "MIA loss-ratio AUC", "training s"]


def described(row: dict) -> str:
    """A setting in words, as the summary names the chosen one."""
    if row["trainer"] == "rlvr":
        return f"rlvr, adapter {row['adapter']}, learning rate {row['lr']:g}, {row['steps']} optimizer steps"
    return (f"sft, adapter {row['adapter']}, learning rate {row['lr']:g}, at most {row['epochs']:g} epochs, "
            f"{row['evaluations']} validation loss{'es' if row['evaluations'] > 1 else ''} per epoch")


def result_of(rows: list[dict], count: int) -> dict:
    """write_result's arguments: a row per setting (COLUMNS) and the chosen one as figures."""
    best = chosen(rows)
    table = [[r["trainer"], r["adapter"], r["lr"], r["epochs"], r["evaluations"],
              f"{'-' if r['best_step'] is None else r['best_step']} / {r['steps']}",
              r["validation"]["n"], r["validation"]["base"], r["validation"]["finetuned"],
              f"+{r['validation']['gained']} / -{r['validation']['lost']}", f"{r['validation']['p_value']:.2g}",
              r["reference_loss"]["base"], r["reference_loss"]["finetuned"], r["mia_loss_ratio_auc"],
              round(r["train_seconds"])] for r in rows]
    return {
        "title": ("The main job's fine-tune (trainer, adapter, learning rate, epochs, evaluations per epoch), "
                  "chosen on the validation split"),
        "summary": (f"The records of one main-job run ({count} usable, the main job's train/held-out split), one "
                    f"fine-tune per setting (sft: LoRA on the verified answers with early stopping; rlvr: GRPO on the "
                    "constrained instructions outside the held-out part, rewarded by the verifiers); base and "
                    f"fine-tuned answer {rows[0]['validation']['n']} validation constrained instructions (validation tasks, 1-3 "
                    "constraints, training wordings) greedily, prompt-level strict. Chosen: the largest gain, within "
                    f"one prompt the lowest reference-answer loss: {described(best)}."),
        "columns": COLUMNS, "rows": table,
        "figures": {"chosen trainer": best["trainer"], "chosen adapter": best["adapter"],
                    "chosen learning rate": best["lr"], "chosen most epochs": best["epochs"], "chosen evaluations per epoch": best["evaluations"]}}


if __name__ == "__main__":
    main()
