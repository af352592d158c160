"""Membership inference at a size where leakage and luck can be told apart: plain LoRA vs DP-SGD.

`make demo`'s audit has few non-members (its held-out share of the records), so the band of AUCs a
model that leaked nothing would show is wide (summary.json's `mia_no_leak_band`). This benchmark
generates one larger dataset with the learned router (at most 3 steps, the default answering) from
several seed files, splits
the usable records in half (members / non-members, a balanced audit), fine-tunes once per
`--epsilons` value on the same members with the main job's settings (0 = plain LoRA), and audits
each adapter: loss-ratio and loss AUC with 95% bootstrap intervals, the chance band (labels
shuffled), the base-model control, held-out and reference-answer loss. With `--constrained N` and
`--ifbench N` each adapter is also evaluated the main job's way (held-out constrained instructions,
IFBench, base vs fine-tuned with McNemar p). The table also goes to a result file for the docs
(`--result`, empty to skip).

    python benchmarks/mia_audit.py [--budget 700] [--epsilons 0 4] [--out runs/mia_audit]
    python benchmarks/mia_audit.py --data runs/mia_audit/generate/dataset.jsonl   # reuse a dataset
    python benchmarks/mia_audit.py --data runs/mia_audit/generate/dataset.jsonl --reuse --loss-dtype float32
    # the main job's split and evaluation, on the records of a `make demo` run (ε none / 8 / 4):
    python benchmarks/mia_audit.py --data runs/demo/generate/dataset.jsonl --heldout 0.15 --epsilons 0 8 4 \
        --constrained 200 --ifbench -1 --out runs/dp_table --result results/dp_table.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from teamsrl_graph.commands.pipeline import EPOCHS, LEARNING_RATE, evaluation_constrained
from teamsrl_graph.common.files import read_jsonl, write_jsonl
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.dataio.records import split_heldout, usable
from teamsrl_graph.dataio.seeds import default_seeds_path, load_seeds
from teamsrl_graph.evaluation import EvalConfig, evaluate
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.running.run import generate
from teamsrl_graph.sft import SFTRunConfig, finetune, trained_on

SEED_FILES = [default_seeds_path(), Path("examples/pit_heldout.txt"), Path("examples/unseen_seeds.txt"),
              Path("examples/unseen_seeds_more.txt")]


def records(args) -> list[dict]:
    """The dataset: read from --data, or generated from the seed files under --budget queries."""
    if args.data:
        return read_jsonl(args.data)
    seeds, seen = [], set()
    for path in args.seeds or SEED_FILES:
        for seed in load_seeds(path):
            if seed.instruction not in seen:  # a seed in two files would put one task on both sides
                seen.add(seed.instruction)
                seeds.append(seed)
    context = Context(router="policy", max_steps=3, budget=args.budget, seed=args.seed)
    print(f"generating from {len(seeds)} seeds, {args.budget} queries")
    return generate(seeds, out=Path(args.out) / "generate", context=context, overwrite=True)


def audit(epsilon: float, train: list[dict], heldout: list[dict], args) -> dict:
    out = Path(args.out) / (f"dp-{epsilon:g}" if epsilon else "plain")
    card_path, report_path = out / "finetune" / "run_card.json", out / f"eval{suffix(args)}" / "eval.json"
    if args.reuse and card_path.is_file():  # the adapter an earlier run of this benchmark trained
        adapter, card = out / "finetune" / "adapter", json.loads(card_path.read_text())
    else:
        tuned = finetune(train, out / "finetune", SFTRunConfig(seed=args.seed, dp_epsilon=epsilon, learning_rate=args.lr,
                                                                epochs=args.epochs))
        adapter, card = tuned.adapter_dir, tuned.card
    if args.reuse and report_path.is_file() and report_path.stat().st_mtime >= card_path.stat().st_mtime:
        report = json.loads(report_path.read_text())  # that adapter's evaluation, already done
    else:
        constrained = None
        if args.constrained:
            constrained = Path(args.out) / "heldout_constrained.jsonl"
            write_jsonl(constrained, evaluation_constrained(args.constrained, args.seed))
        report = evaluate(adapter, heldout, trained_on(card, train), report_path.parent,
                          EvalConfig(judge="", ifbench=args.ifbench, loss_dtype=args.loss_dtype,
                                     constrained=str(constrained) if constrained else None,
                                     answer_tokens=args.answer_tokens))
    return {"epsilon": epsilon, "privacy": card.get("differential_privacy"), "seconds": card.get("seconds"),
            "eval": report}


def suffix(args) -> str:
    return "" if args.loss_dtype == "auto" else f"-{args.loss_dtype}"


COLUMNS = ["fine-tune", "members / non-members", "loss-ratio AUC [95% bootstrap]", "no-leak band (labels shuffled)",
           "loss AUC", "base-model control", "held-out loss", "reference-answer loss", "ε spent (noise multiplier)",
           "training seconds"]


PAIRED = {"heldout_constrained": "held-out constrained (strict)", "ifbench": "IFBench (loose)"}


def paired_columns(results: list[dict]) -> list[str]:
    """The main job's comparisons the adapters were evaluated on (none unless --constrained / --ifbench)."""
    return [label for key, label in PAIRED.items() if results[0]["eval"].get(key)]


def paired_cell(figures: dict) -> str:
    """"base → fine-tuned (p)" of a paired comparison."""
    return f"{figures['base']:.3f} → {figures['finetuned']:.3f} (p {figures['p_value']:.2g})"


def spent(privacy: dict | None) -> str:
    """"7.98 (0.61)": the epsilon a DP-SGD run spent and its noise multiplier; "-" without DP-SGD."""
    if not privacy:
        return "-"
    return f"{privacy['epsilon_spent']:g} ({privacy['noise_multiplier']:.3g})"


def cells(result: dict) -> list[str]:
    """One adapter's row of the table (COLUMNS, then its paired comparisons)."""
    e, m = result["eval"], result["eval"]["membership_inference"]
    name = f"DP-SGD, ε = {result['epsilon']:g}" if result["epsilon"] else "plain LoRA"
    span = lambda key: f"[{m[key][0]:.2f}, {m[key][1]:.2f}]"
    return [name, f"{m['members']} / {m['nonmembers']}", f"{m['loss_ratio_auc']:.3f} {span('loss_ratio_auc_interval')}",
            span("chance_band"), f"{m['loss_auc']:.3f}", f"{m['base_loss_control_auc']:.3f}",
            f"{e['heldout_loss']['base']} → {e['heldout_loss']['finetuned']}",
            f"{e['reference_loss']['base']} → {e['reference_loss']['finetuned']}", spent(result.get("privacy")),
            "-" if result.get("seconds") is None else f"{result['seconds']:.0f}"] + [
        paired_cell(e[key]) for key in PAIRED if e.get(key)]


def result_of(results: list[dict], count: int) -> dict:
    """write_result's arguments: the printed table, a row per audited adapter. With the main job's
    paired evaluations it is the privacy table of the main job's records, shown in the README too."""
    paired = paired_columns(results)
    title = ("DP-SGD on the main job's records: privacy against what the fine-tune gains" if paired
             else "Membership inference: plain LoRA against DP-SGD")
    return {"title": title, "readme_table": bool(paired), "summary": (
        f"One dataset made the way the main job makes it ({count} usable records), split into members and "
        "non-members; the members fine-tuned once per setting (plain LoRA, DP-SGD at the given ε) with the main "
        "job's settings, and each adapter audited: loss-ratio and loss AUC with 95% bootstrap intervals, the band "
        "a model that leaked nothing shows (labels shuffled), the base-model control, held-out and reference-answer "
        f"loss (base → fine-tuned; losses in {results[0]['eval']['loss_dtype']})"
        + (", and the main job's paired evaluations (base → fine-tuned, exact McNemar p)." if paired else ".")),
        "columns": COLUMNS + paired, "rows": [cells(r) for r in results]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", nargs="+", help="seed files (default: the shipped seeds and examples/*seeds*, pit_heldout)")
    ap.add_argument("--data", help="a dataset.jsonl to audit on instead of generating one")
    ap.add_argument("--budget", type=int, default=700, help="queries for the generation run (about 5.5 per seed)")
    ap.add_argument("--epsilons", type=float, nargs="+", default=[0.0, 4.0], help="DP-SGD budgets; 0 = plain LoRA")
    ap.add_argument("--heldout", type=float, default=0.5, help="share of usable records kept out as non-members")
    ap.add_argument("--loss-dtype", choices=("auto", "float32"), default="auto",
                    help="dtype of the audit's losses (float32: exact where bf16 rounding hides a small adapter)")
    ap.add_argument("--lr", type=float, default=LEARNING_RATE, help="LoRA learning rate (default: the main job's)")
    ap.add_argument("--epochs", type=float, default=EPOCHS, help="most epochs (default: the main job's)")
    ap.add_argument("--constrained", type=int, default=0, metavar="N",
                    help="also evaluate on the main job's N held-out constrained instructions (0 skips)")
    ap.add_argument("--ifbench", type=int, default=0, metavar="N", help="also evaluate on N IFBench prompts (-1 all, 0 skips)")
    ap.add_argument("--answer-tokens", type=int, default=192, help="answer cap on the constrained instructions")
    ap.add_argument("--reuse", action="store_true",
                    help="audit the adapters (and reuse the evaluations) an earlier run wrote instead of training")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/mia_audit")
    result_option(ap, "results/mia_audit.json")
    args = ap.parse_args()

    trainable = [r for r in records(args) if usable(r)]
    train, heldout = split_heldout(trainable, args.heldout, args.seed)
    print(f"{len(trainable)} usable records: {len(train)} to train on (validation included), {len(heldout)} held out")
    results = [audit(epsilon, train, heldout, args) for epsilon in args.epsilons]
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"results{suffix(args)}.json").write_text(json.dumps(results, indent=2))
    print(f"\nlosses in {results[0]['eval']['loss_dtype']}")
    columns = COLUMNS + paired_columns(results)
    print("\n| " + " | ".join(columns) + " |\n" + "|---" * len(columns) + "|")
    for result in results:
        print("| " + " | ".join(cells(result)) + " |")
    record(args.result, result_of(results, len(trainable)))


if __name__ == "__main__":
    main()
