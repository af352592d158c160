"""Choosing the main job's learning rate, number of epochs, validation losses per epoch (how often
early stopping looks) and adapter (LoRA rank, which layers) on the project's own validation split.

Takes the records of one generation run (a main-job run's `generate/dataset.jsonl`), splits them as
the main job does, and fine-tunes once per (adapter, learning rate, most epochs, evaluations per epoch)
setting, each with the main job's early stopping. Every adapter and the base model answer the same
validation constrained instructions: the shipped validation tasks (never seeds, never evaluated
on) with 1-3 constraints drawn under their own seed and worded in training phrasings, so neither the
evaluation's tasks nor its held-out wordings take part in the choice. Per setting it prints and writes validation
prompt-level strict accuracy base vs fine-tuned (McNemar p), reference-answer loss, the MIA
loss-ratio AUC and the training time, then the chosen setting: the largest validation gain, ties
(within one prompt) to the lower reference-answer loss. It does not touch IFBench.

    python benchmarks/finetune_settings.py --records runs/demo/generate/dataset.jsonl [--lr 3e-4 1e-3] [--epochs 1 3]
        [--evaluations 1 4] [--rank 8 16] [--modules attention all-linear]
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from teamsrl_graph.commands.pipeline import validation_constrained
from teamsrl_graph.common.files import read_jsonl, write_jsonl
from teamsrl_graph.common.lora import MODULES, LoraSettings
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.dataio.records import split_heldout, usable
from teamsrl_graph.evaluation import EvalConfig, evaluate, headline
from teamsrl_graph.sft import SFTRunConfig, finetune


def setting(args, adapter: tuple[int, str], lr: float, epochs: float, evaluations: int, train: list[dict],
            heldout: list[dict], items: Path) -> dict:
    rank, modules = adapter
    out = Path(args.out) / f"r{rank}-{modules}-lr{lr:g}-epochs{epochs:g}-evaluations{evaluations}"
    lora = LoraSettings(r=rank, alpha=2 * rank, target_modules=list(MODULES[modules]))  # alpha / r = 2 at every rank
    tuned = finetune(train, out / "finetune", SFTRunConfig(lora=lora, epochs=epochs, learning_rate=lr, seed=args.seed,
                                                           evaluations_per_epoch=evaluations))
    report = evaluate(tuned.adapter_dir, heldout, tuned.trained_on(train), out / "eval",
                      EvalConfig(judge="", ifbench=0, constrained=str(items), answer_tokens=args.answer_tokens))
    figures = headline(report)
    mia = report["membership_inference"]
    stopped = tuned.card["validation"]
    return {"adapter": f"r{rank} {modules}", "lr": lr, "epochs": epochs, "evaluations": evaluations,
            "best_step": stopped["best_step"], "steps": tuned.card["steps"],
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
    parser.add_argument("--lr", type=float, nargs="+", default=[3e-4, 1e-3])
    parser.add_argument("--epochs", type=float, nargs="+", default=[1.0, 3.0])
    parser.add_argument("--evaluations", type=int, nargs="+", default=[1], help="validation losses per epoch")
    parser.add_argument("--rank", type=int, nargs="+", default=[8], help="LoRA ranks (alpha = 2 x rank)")
    parser.add_argument("--modules", nargs="+", default=["attention"], choices=sorted(MODULES),
                        help="the layers the adapter trains")
    parser.add_argument("--validation", type=int, default=140, help="validation constrained instructions")
    parser.add_argument("--answer-tokens", type=int, default=192, help="answer length cap (the main job's)")
    parser.add_argument("--heldout", type=float, default=0.15, help="records held out as the main job does")
    parser.add_argument("--seed", type=int, default=0, help="the main job's seed")
    parser.add_argument("--out", default="runs/finetune_settings")
    result_option(parser, "results/finetune_settings.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")

    records = read_jsonl(args.records)
    trainable = [r for r in records if usable(r)]
    train, heldout = split_heldout(trainable, args.heldout, args.seed)
    items = Path(args.out) / "validation_constrained.jsonl"
    items.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(items, validation_constrained(args.validation, args.seed))
    rows = [setting(args, (rank, modules), lr, epochs, evaluations, train, heldout, items)
            for rank in args.rank for modules in args.modules for lr in args.lr for epochs in args.epochs
            for evaluations in args.evaluations]
    (Path(args.out) / "settings.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    result = result_of(rows, len(trainable))
    print(json.dumps({"columns": result["columns"], "rows": result["rows"], "chosen": result["figures"]}, indent=1))
    record(args.result, result)


COLUMNS = ["adapter", "learning rate", "most epochs", "evaluations per epoch", "best step / steps", "n", "validation base",
           "validation fine-tuned", "gained / lost", "McNemar p", "reference loss base", "reference loss fine-tuned", "MIA loss-ratio AUC",
           "training s"]


def result_of(rows: list[dict], count: int) -> dict:
    """write_result's arguments: a row per setting (COLUMNS) and the chosen one as figures."""
    best = chosen(rows)
    table = [[r["adapter"], r["lr"], r["epochs"], r["evaluations"], f"{r['best_step']} / {r['steps']}", r["validation"]["n"],
              r["validation"]["base"], r["validation"]["finetuned"], f"+{r['validation']['gained']} / -{r['validation']['lost']}",
              f"{r['validation']['p_value']:.2g}", r["reference_loss"]["base"], r["reference_loss"]["finetuned"],
              r["mia_loss_ratio_auc"], round(r["train_seconds"])] for r in rows]
    return {
        "title": "Adapter, learning rate, epochs and evaluations per epoch of the main job's fine-tune, chosen on the validation split",
        "summary": (f"The records of one main-job run ({count} usable, the main job's train/held-out split), one LoRA "
                    f"fine-tune per setting with early stopping; base and fine-tuned answer {rows[0]['validation']['n']} "
                    "validation constrained instructions (validation tasks, 1-3 constraints, training wordings) "
                    "greedily, prompt-level strict. Chosen: the largest gain, within one prompt the lowest "
                    f"reference-answer loss: adapter {best['adapter']}, learning rate {best['lr']:g}, at most {best['epochs']:g} epochs, "
                    f"{best['evaluations']} validation loss{'es' if best['evaluations'] > 1 else ''} per epoch."),
        "columns": COLUMNS, "rows": table,
        "figures": {"chosen adapter": best["adapter"], "chosen learning rate": best["lr"], "chosen most epochs": best["epochs"],
                    "chosen evaluations per epoch": best["evaluations"]}}


if __name__ == "__main__":
    main()
