"""Every trainer on the same samples: rejection-sampling SFT, HIR and RLVR against the base model,
PIT's improver and Self-Refine against the original answers, in one run and one table with paired
p-values.

1. Training instructions: N shipped training seeds, each with 1-3 registry constraints in training
   wordings, drawn uniformly or (`--draw main-job`) as the main job draws them (`training_items`).
   The base model samples K answers to each (temperature 0.7, no repetition penalty);
   several budgets (`--samples 2 4 8`) share them: budget k takes each instruction's first k. K is
   `--draws` (default: the largest budget), so a reused run can add or drop a budget. A run naming
   none of sft-verified, hir and pit (rlvr alone, say) draws none: GRPO samples its own groups.
2. At each budget k, each method trains a fresh LoRA adapter on the base model for the same S
   optimizer steps at the same learning rate:
   - sft-verified: cross-entropy on the samples that meet all their constraints (HIR's trainer with
     `hir.config.rejection_sampling`: nothing relabeled, no contrastive or entropy term);
   - hir: every sample; one that misses a constraint is relabeled to the constraints it meets, the
     full instruction its contrastive negative (`hir.constrained.relabel_constrained`);
   - rlvr: trl's GRPOTrainer rewarded by the verifiers (`constraints.reward.constraint_reward`) on the
     same instructions, N/S a step, sampling its own groups of k answers: N x k answers in all.
3. PIT: preference pairs from all K samples of each instruction, decided by compliance alone
   (`pit.collect.compliance_pair`), train the gap model (pairwise accuracy on held-out pairs), the
   improver's SFT stage (the same S steps and batch as the methods above) and its two GRPO stages
   (`pit.trainer.PITTrainer`).
4. Evaluation on what no method trained on: held-out tasks with 1-3 constraints in held-out wordings
   (prompt level, strict) and IFBench's offline-verifiable prompts (prompt level, loose), answered
   greedily, and the loss on the shipped reference answers. Each trained row is paired with the base
   model (`evaluation.paired`: gained / lost, exact McNemar p). pit and self-refine improve the base
   model's answers (the original answers) through the graph's improvement loop
   (`running.improve.improve_answers`) with the same rounds, token cap and query cap, and are paired
   with the original answers, on the sets `--improve-on` names (default both).

    python benchmarks/trainers.py --quick
    python benchmarks/trainers.py --out runs/trainers [--reuse]

Each part is written under --out when it is done (atomically); `--reuse` reads back what is there
(samples, adapters, answers, the PIT model) and makes only what is missing; an rlvr row stopped
part way resumes from its latest checkpoint (OUT/rlvr-kK/checkpoints). Prints the table, writes
OUT/report.json and a result file for the docs (`--result`; empty to skip).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import shutil
import sys
import time
from pathlib import Path

from teamsrl_graph.commands.options import at_least
from teamsrl_graph.common.errors import InputError, TeamsrlError
from teamsrl_graph.common.files import read_json_file, write_json
from teamsrl_graph.common.parts import Parts
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.evaluation.apart import keep_apart
from teamsrl_graph.evaluation.compare import SETS, answer_sets, compare, load, verdicts

log = logging.getLogger("trainers")
METHODS = ("sft-verified", "hir", "rlvr")  # trained on the samples; each is paired with the base model
IMPROVERS = ("pit", "self-refine")  # improve the original answers; each is paired with them
LEARN_FROM_SAMPLES = {"sft-verified", "hir", "pit"}  # the methods trained on the drawn samples (rlvr draws its own)
FULL = {"instructions": 640, "samples": [2, 4, 8], "steps": 40, "heldout": 200, "ifbench": -1, "tokens": 160, "rounds": 2,
        "pit_steps": [8, 8], "improve_on": list(SETS), "result": "results/trainers.json"}
QUICK = {"instructions": 24, "samples": [4], "steps": 6, "heldout": 40, "ifbench": 40, "tokens": 96, "rounds": 1,
         "pit_steps": [2, 2], "improve_on": list(SETS), "result": "results/trainers_quick.json"}
DRAWS = ("uniform", "main-job")  # how the training instructions' constraints are drawn (`training_items`)
PASS_RATES = Path(__file__).resolve().parent.parent / "results" / "pass_rates.json"  # benchmarks/pass_rates.py's table
SAMPLE_TEMPERATURE = 0.7  # sampling temperature of the training samples and of GRPO's groups
GENERATION_BATCH = 32  # sequences generated together (samples and evaluation answers)


# -- options ---------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=at_least(2), nargs="+", metavar="K",
                   help=f"samples per instruction, at least 2 (GRPO's group); several compare budgets "
                        f"(default {FULL['samples']})")
    p.add_argument("--draws", type=at_least(2), metavar="K",
                   help="samples drawn per instruction, at least the largest --samples; PIT's pairs come from all "
                        "of them (default: the largest --samples)")
    p.add_argument("--methods", nargs="+", choices=METHODS + IMPROVERS, default=list(METHODS + IMPROVERS),
                   help="the rows to make (default all); a reused run reports the parts of the others already there")
    p.add_argument("--draw", choices=DRAWS, default="uniform",
                   help="the training instructions' constraints: uniform types and counts, as the evaluation draws "
                        "them (default), or main-job: counts 3:2:1 and types by the main job's learned draw primed "
                        "with the measured pass rates")
    p.add_argument("--skip-tied", action="store_true",
                   help="rlvr leaves groups whose answers all scored alike out of its steps (RLVRConfig.skip_tied)")
    p.add_argument("--instructions", type=at_least(1), help=f"training instructions (default {FULL['instructions']})")
    p.add_argument("--steps", type=at_least(1), help=f"optimizer steps of every trained method (default {FULL['steps']})")
    p.add_argument("--batch-size", type=at_least(1), default=8, help="pairs per step of sft-verified, hir and PIT's SFT stage")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate of every trained method's adapter")
    p.add_argument("--heldout", type=at_least(1), help=f"held-out constrained instructions (default {FULL['heldout']})")
    p.add_argument("--ifbench", type=at_least(-1), help="IFBench prompts; -1 = all offline-verifiable (default), 0 = none")
    p.add_argument("--tokens", type=at_least(1),
                   help=f"new-token cap of every sample, answer and improvement (default {FULL['tokens']})")
    p.add_argument("--rounds", type=at_least(1),
                   help=f"improvement rounds of pit and self-refine (default {FULL['rounds']})")
    p.add_argument("--improve-budget", type=at_least(1),
                   help="query cap of each improvement run, the same for both (default none)")
    p.add_argument("--improve-on", nargs="+", choices=SETS, metavar="SET",
                   help=f"the sets pit and self-refine improve, of {', '.join(SETS)} (default both)")
    p.add_argument("--pit-steps", type=at_least(0), nargs=2, metavar=("STAGE1", "STAGE2"),
                   help=f"optimizer steps of PIT's two GRPO stages (default {FULL['pit_steps']})")
    p.add_argument("--model", default="local", help="base model: local (the embedded model) or a model folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/trainers", help="folder of every part of the run")
    p.add_argument("--reuse", action="store_true", help="read back the parts already under --out; make only the rest")
    p.add_argument("--quick", action="store_true", help=f"the whole harness at a small size: {QUICK}")
    result_option(p, FULL["result"])
    p.set_defaults(result=None)
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if not (math.isfinite(args.lr) and args.lr > 0):
        p.error(f"--lr must be a positive number, got {args.lr}")
    if args.instructions % args.steps:
        p.error(f"--instructions ({args.instructions}) must be a multiple of --steps ({args.steps}): rlvr takes "
                "instructions / steps of them a step, so that it sees each training instruction once")
    args.samples = sorted(set(args.samples))
    if args.draws is None:
        args.draws = max(args.samples)
    if args.draws < max(args.samples):
        p.error(f"--draws ({args.draws}) must be at least the largest --samples ({max(args.samples)})")
    return args


def settings(args) -> dict:
    """What the parts under --out depend on (a reused run must have been made with the same). The
    budgets are not among them: each budget's parts are its own folders, cut from the same draws; nor
    are the sets improved: an improver's answers say which sets they cover."""
    return {k: v for k, v in vars(args).items()
            if k not in ("out", "reuse", "quick", "result", "samples", "methods", "improve_on")}


# -- the parts of the run ------------------------------------------------------------------------

def training_items(args) -> list[dict]:
    """The training instructions: `--instructions` shipped seeds in training wordings with 1-3
    constraints. `--draw uniform` draws types and counts uniformly (as the evaluation's held-out
    instructions are drawn); `--draw main-job` draws them the way `teamsrl pipeline` does: counts by
    its `constraint_counts` (3:2:1) and types by its learned draw (`TypeDraw()`, favouring types met
    sometimes, with its floor) holding the pass rates of benchmarks/pass_rates.py's table, as the
    draw stands once a run has verified many answers."""
    from teamsrl_graph.commands.pipeline import ANSWERING, heldout_constrained

    if args.draw == "uniform":
        return heldout_constrained(args.instructions, args.seed, tasks="seeds", split="train")
    from teamsrl_graph.constraints.drawing import TypeDraw
    from teamsrl_graph.evolve.context import Context, count_weights

    table = read_json_file(PASS_RATES)
    column = {name: i for i, name in enumerate(table["columns"])}
    draw = TypeDraw.from_state({"types": {row[column["type"]]: {"passes": row[column["passes"]],
                                                                 "fails": row[column["samples"]] - row[column["passes"]]}
                                          for row in table["rows"]}}, source=str(PASS_RATES))
    weights = count_weights(Context(**{k: ANSWERING[k] for k in ("constraints_per_instruction", "constraint_counts")}))
    return heldout_constrained(args.instructions, args.seed, tasks="seeds", split="train", draw=draw, weights=weights)


def fingerprint(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def optimizer_steps(optimizer) -> int:
    """Steps the optimizer took (AdamW counts them per parameter)."""
    counts = [int(state["step"]) for state in optimizer.state.values() if "step" in state]
    return max(counts, default=0)


def train_supervised(method: str, k: int, items: list[dict], samples: list[list[str]], folder: Path, args):
    """sft-verified or hir on each instruction's first k samples: (model, tokenizer, what it trained on)."""
    import torch

    from teamsrl_graph.hir.config import HIRConfig, rejection_sampling
    from teamsrl_graph.hir.constrained import from_items, relabel_constrained
    from teamsrl_graph.hir.trainer import HIRTrainer

    config = HIRConfig(rounds=1, prompts_per_round=len(items), samples=k, steps_per_round=args.steps,
                       batch_size=args.batch_size, learning_rate=args.lr, temperature=SAMPLE_TEMPERATURE,
                       answer_tokens=args.tokens, seed=args.seed)
    if method == "sft-verified":
        config = rejection_sampling(config)
    used = [outputs[:k] for outputs in samples]
    pairs = [pair for item, outputs in zip(from_items(items), used, strict=True)
             for pair in relabel_constrained(item, outputs, keep_partial=config.keep_wrong, max_tokens=args.tokens)]
    torch.manual_seed(args.seed)
    model, tokenizer = load(folder)
    trainer = HIRTrainer(config, model, tokenizer, pairs=pairs)
    losses = trainer.fit(pairs, desc=f"{method}, k={k}")
    return trainer.model, tokenizer, {
        "steps": optimizer_steps(trainer.optimizer), "pairs": len(pairs), "relabeled": sum(p.hindsight for p in pairs),
        "losses": losses, "answers_drawn": sum(map(len, used)),
        "data": {"instructions": fingerprint([i["prompt"] for i in items]), "samples": fingerprint(used)}}


def train_grpo(k: int, items: list[dict], folder: Path, checkpoints: Path, args):
    """rlvr with groups of k: (model, tokenizer, what it trained on). Its checkpoints go under
    `checkpoints`; with --reuse a run stopped part way resumes from the latest, without it they are
    cleared first. They are removed once the adapter is saved."""
    import torch

    from teamsrl_graph.rlvr import RLVRConfig, train_rlvr

    per_step = len(items) // args.steps
    config = RLVRConfig(steps=args.steps, prompts_per_step=per_step, num_generations=k, learning_rate=args.lr,
                        max_completion_length=args.tokens, temperature=SAMPLE_TEMPERATURE, seed=args.seed,
                        skip_tied=args.skip_tied)
    torch.manual_seed(args.seed)
    model, tokenizer = load(folder)
    if not args.reuse:
        shutil.rmtree(checkpoints, ignore_errors=True)
    model, history, steps = train_rlvr(items, config, model, tokenizer, checkpoints)
    return model, tokenizer, {
        "steps": steps, "rewards": [h["reward"] for h in history], "answers_drawn": steps * per_step * k,
        "tied_groups": [h["tied_groups"] for h in history],
        "data": {"instructions": fingerprint([i["prompt"] for i in items]), "samples": None}}


def trained(store: Parts, method: str, k: int, items, samples, folder: Path, sets: dict, args) -> dict:
    """One trained row's {"training", "answers"}: trained and saved (adapter, training.json), then
    answered (answers.json); with --reuse, the parts already there are read back."""
    name = f"{method}-k{k}"
    if store.has(f"{name}/answers.json"):
        log.info("reusing %s/%s", store.folder, name)
        return {"training": read_json_file(store.folder / name / "training.json"),
                "answers": read_json_file(store.folder / name / "answers.json")}
    from teamsrl_graph.common.lora import save_adapter

    adapter = store.folder / name / "adapter"
    if store.has(f"{name}/training.json") and adapter.is_dir():
        log.info("reusing the adapter in %s", adapter)
        model, tokenizer = load(folder, adapter)
        training = read_json_file(store.folder / name / "training.json")
    else:
        log.info("training %s on %d instructions x %d samples, %d steps", method, len(items), k, args.steps)
        started = time.monotonic()
        if method == "rlvr":
            model, tokenizer, training = train_grpo(k, items, folder, store.folder / name / "checkpoints", args)
        else:
            model, tokenizer, training = train_supervised(method, k, items, samples, folder, args)
        training.update(method=method, samples=k, seconds=round(time.monotonic() - started, 1))
        save_adapter(model, adapter)
        write_json(store.folder / name / "training.json", training)
        shutil.rmtree(store.folder / name / "checkpoints", ignore_errors=True)
    answers = store.json(f"{name}/answers.json",
                         lambda: answer_sets(model, tokenizer, sets, args.tokens, name, GENERATION_BATCH))
    return {"training": training, "answers": answers}


# -- PIT and the improvement loop --------------------------------------------------------------------

def pit_part(store: Parts, items, samples, args) -> dict:
    """Compliance pairs from all the samples drawn, and PIT trained on them (under OUT/pit/model); when
    pit is not among --methods, only a PIT model already there is read back."""
    from teamsrl_graph.pit.collect import compliance_pairs
    from teamsrl_graph.pit.preferences import write_preferences

    if samples is None:
        return {"samples": 0, "pairs": 0, "skipped": "no samples drawn (pit not among --methods)"}
    k = args.draws
    used = [outputs[:k] for outputs in samples]
    prefs = compliance_pairs(items, used, args.tokens)
    info = {"samples": k, "pairs": len(prefs), "data": {"instructions": fingerprint([i["prompt"] for i in items]),
                                                         "samples": fingerprint(used)}}
    if len(prefs) < 2:
        log.warning("PIT skipped: %d preference pair(s) decided by compliance; it needs 2", len(prefs))
        return {**info, "skipped": f"{len(prefs)} preference pair(s) decided by compliance from {k} samples per instruction"}
    model_dir = store.folder / "pit" / "model"
    if "pit" not in args.methods and not store.has("pit/model/run_card.json"):
        return {**info, "skipped": "not among --methods"}
    if not store.has("pit/model/run_card.json"):
        from teamsrl_graph.pit.config import PITConfig
        from teamsrl_graph.pit.trainer import PITTrainer

        source = write_preferences(store.folder / "pit" / "preferences.jsonl", prefs)
        log.info("training PIT on %d preference pairs", len(prefs))
        # the SFT stage takes the optimizer steps and batch of every other trained method
        config = PITConfig(output_dir=str(model_dir), base=args.model, rl_steps=tuple(args.pit_steps),
                           batch_size=args.batch_size, sft_steps=args.steps,
                           max_completion_length=args.tokens, reference_tokens=args.tokens, seed=args.seed)
        trainer = PITTrainer(config, prefs, source=str(source))
        trainer.train()
        trainer.save()
        del trainer
    card = read_json_file(model_dir / "run_card.json")
    held = (card["gap"] or {}).get("heldout") or {}
    return {**info, "folder": str(model_dir), "train_pairs": card["pairs"]["train"],
            "heldout_pairs": card["pairs"]["heldout"], "gap_heldout_accuracy": held.get("accuracy"),
            "sft_steps": card.get("sft_steps"), "rl_steps": [len(card["rl"]["stage1"]), len(card["rl"]["stage2"])]}


def improved(mode: str, pit: dict, sets: dict, original: dict, folder: Path, args) -> dict:
    """The original answers of every set improved by `mode` through the graph's improvement loop."""
    from collections import Counter

    from teamsrl_graph.evolve.context import Context
    from teamsrl_graph.running.improve import improve_answers

    names = [s for s in SETS if sets[s] and s in args.improve_on]
    context = Context(model=f"local:{folder}", improve=mode, pit=pit.get("folder") if mode == "pit" else None,
                      improve_rounds=args.rounds, improve_tokens=args.tokens, answer_tokens=args.tokens,
                      budget=args.improve_budget, seed=args.seed)
    records = improve_answers([p for s in names for p in sets[s]], [a for s in names for a in original[s]], context,
                              concurrency=16)
    out, start = {s: [] for s in SETS}, 0
    for s in names:
        out[s] = [r["response"] for r in records[start:start + len(sets[s])]]
        start += len(sets[s])
    out.update(queries=sum(r.get("queries", 0) for r in records),
               stops=dict(Counter(r.get("improve_stop") for r in records)),
               accepted_rounds=sum(i["accepted"] for r in records for i in r.get("improvements", [])))
    return out


# -- the comparison ---------------------------------------------------------------------------------

def build_report(args, items, held, rows, base, runs: dict, pit: dict, improvements: dict, seconds: float) -> dict:
    from teamsrl_graph.constraints.drawing import type_mix

    base_v = verdicts(base, held, rows)
    table = []
    for (method, k), run in runs.items():
        t = run["training"]
        table.append({"method": method, "samples": k, "baseline": "base", "steps": t["steps"],
                      **compare(base_v, verdicts(run["answers"], held, rows)),
                      "reference_loss": {"baseline": base["reference_loss"], "method": run["answers"]["reference_loss"]},
                      "answers_drawn": t["answers_drawn"], "data": t["data"],
                      **({"tied_groups": mean_of(t["tied_groups"])} if t.get("tied_groups") else {})})
    improved_v = {mode: verdicts(answers, held, rows) for mode, answers in improvements.items()}
    for mode, answers in improvements.items():
        table.append({"method": mode, "samples": None, "baseline": "original", "steps": None,
                      **compare(base_v, improved_v[mode]), "reference_loss": None,
                      "queries": answers["queries"], "accepted_rounds": answers["accepted_rounds"]})
    table.append({"method": "original", "samples": None, "baseline": None, "steps": None, "reference_loss": None,
                  **{s: {"n": len(v), "finetuned": round(sum(v) / len(v), 4)} if v else None for s, v in base_v.items()}})
    mix = type_mix([i["constraints"] for i in items])  # what the training instructions ask for
    return {"settings": {**settings(args), "samples": args.samples, "methods": args.methods}, "instructions": len(items),
            "training_mix": {"entropy_bits": mix["entropy_bits"], "types": mix["counts"],
                             "mean_constraints": round(sum(len(i["constraints"]) for i in items) / len(items), 3)},
            "heldout": len(held), "ifbench": len(rows), "rows": table, "pit": pit, "seconds": round(seconds, 1),
            # the improvers head to head: Self-Refine's verdicts the baseline of PIT's
            "pit_vs_self_refine": compare(improved_v["self-refine"], improved_v["pit"])
            if set(IMPROVERS) <= set(improved_v) else None}


COLUMNS = ["method", "samples", "steps", "baseline", "held-out n", "held-out baseline", "held-out method",
           "held-out gained / lost", "held-out McNemar p", "IFBench n", "IFBench baseline → method",
           "IFBench gained / lost", "IFBench p", "reference loss (base → method)"]


def mean_of(values: list) -> float | None:
    """The mean of the logged values (None where a step logged none), rounded; None if none was logged."""
    logged = [v for v in values if v is not None]
    return round(sum(logged) / len(logged), 4) if logged else None


def table_rows(report: dict) -> list[list]:
    """The printed table, one list of cells per row (COLUMNS)."""
    out = []
    for r in report["rows"]:
        held, bench, ref = r["heldout_constrained"], r["ifbench"], r["reference_loss"]
        cells = [r["method"], r["samples"], r["steps"], r["baseline"] or "-"]
        if held:
            cells += [held["n"], fmt(held.get("base")), fmt(held["finetuned"]), discordant(held), pvalue(held)]
        else:  # an improver not run on this set (--improve-on)
            cells += [0, "-", "-", "-", "-"]
        if bench:
            shown = f"{fmt(bench['base'])} → {fmt(bench['finetuned'])}" if "base" in bench else fmt(bench["finetuned"])
            cells += [bench["n"], shown, discordant(bench), pvalue(bench)]
        else:
            cells += [0, "-", "-", "-"]
        cells.append(f"{ref['baseline']:.3f} → {ref['method']:.3f}" if ref else "-")
        out.append(cells)
    return out


def fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def discordant(stats: dict) -> str:
    return f"+{stats['gained']} / -{stats['lost']}" if "gained" in stats else "-"


def pvalue(stats: dict) -> str:
    return f"{stats['p_value']:.3g}" if "p_value" in stats else "-"


def markdown(columns: list, rows: list[list]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join("-" if c is None else str(c) for c in row) + " |" for row in rows])


def pit_line(pit: dict) -> str:
    if pit.get("skipped"):
        return f"PIT skipped: {pit['skipped']}"
    accuracy = pit["gap_heldout_accuracy"]
    return (f"PIT: {pit['pairs']} preference pairs decided by compliance ({pit['samples']} samples per instruction), "
            f"{pit['train_pairs']} for training and {pit['heldout_pairs']} held out; gap model held-out pairwise accuracy "
            f"{'-' if accuracy is None else f'{accuracy:.3f}'}")


def methods_in(report: dict) -> set[str]:
    """The methods the report has rows of (the original answers are the improvers' baseline, not a method)."""
    return {r["method"] for r in report["rows"]} - {"original"}


def summary(report: dict) -> str:
    s = report["settings"]
    drawn = "as the main job draws them" if s.get("draw") == "main-job" else "drawn uniformly"
    return (f"{report['instructions']} training instructions (shipped seeds, 1-3 constraints in training wordings, "
            f"{drawn}) x "
            f"{'/'.join(map(str, s['samples']))} samples; {s['steps']} optimizer steps at lr {s['lr']:g} for every trained "
            f"method; {report['heldout']} held-out constrained instructions (held-out tasks and wordings, prompt level "
            f"strict), {report['ifbench']} IFBench prompts (prompt level loose), {s['tokens']}-token answers"
            + (f"; rlvr: {report['instructions'] // s['steps']} instructions a step, each with its group of answers"
               + (", groups whose answers all scored alike left out of the step" if s.get("skip_tied") else "")
               if "rlvr" in methods_in(report) else "")
            + (f"; pit and self-refine: {s['rounds']} round(s), query cap {s['improve_budget'] or 'none'}"
               if set(IMPROVERS) & methods_in(report) else ""))


def result_of(report: dict, readme_table: bool = False) -> dict:
    """write_result's arguments for the report (what OUT/report.json holds): the printed table, PIT's
    pairs and gap accuracy and the improvement queries as figures; `readme_table` puts the table in the
    README too."""
    pit, rows = report["pit"], {r["method"]: r for r in report["rows"]}
    ran = not pit.get("skipped") or (pit["samples"] and pit["pairs"] < 2)  # trained, or skipped for want of pairs
    figures = {"PIT preference pairs (decided by compliance)": pit["pairs"]} if ran else {}
    if not pit.get("skipped"):
        figures.update({"PIT gap model, held-out pairwise accuracy": pit["gap_heldout_accuracy"],
                        "PIT pairs, training / held out": f"{pit['train_pairs']} / {pit['heldout_pairs']}"})
    figures.update({f"improvement queries, {mode}": rows[mode]["queries"] for mode in IMPROVERS if mode in rows})
    figures.update({f"{r['method']} at {r['samples']} samples: groups whose answers all scored alike (mean share a step)":
                    r["tied_groups"] for r in report["rows"] if r.get("tied_groups") is not None})
    for s, name in (("heldout_constrained", "held-out constrained"), ("ifbench", "IFBench")):
        if (versus := (report.get("pit_vs_self_refine") or {}).get(s)):
            figures[f"pit vs self-refine, {name}"] = (f"{versus['finetuned']:.3f} vs {versus['base']:.3f} "
                                                     f"({discordant(versus)}, p {pvalue(versus)})")
    made = methods_in(report)
    title = "Every trainer on the same samples" if made >= set(METHODS + IMPROVERS) else (
        "The trainers harness, " + ", ".join(f"{r['method']} at {r['samples']} samples" if r["samples"] else r["method"]
                                             for r in report["rows"] if r["method"] != "original"))
    if report["settings"].get("draw") == "main-job":
        title += ", on instructions whose constraints are drawn as the main job draws them"
    return {"title": title, "columns": COLUMNS, "rows": table_rows(report),
            "figures": figures, "readme_table": readme_table, "summary": (
                summary(report) + ". " + pairing(made) + "gained / lost count the prompts only one side passes; p is the "
                "exact McNemar test.")}


def pairing(methods: set[str]) -> str:
    """What the rows of `methods` start from and are paired with."""
    trained, improvers = [m for m in METHODS if m in methods], [m for m in IMPROVERS if m in methods]
    said = []
    if trained:
        one = len(trained) == 1
        said.append(f"{', '.join(trained)} start{'s' if one else ''} from the base model with the same instructions, "
                    f"sample budget and optimizer steps and {'is' if one else 'are'} paired with the base model's answers")
    if improvers:
        one = len(improvers) == 1
        said.append(f"{' and '.join(improvers)} improve{'s' if one else ''} the base model's answers (the original "
                    f"answers) and {'is' if one else 'are'} paired with them")
    return "; ".join(said) + ". " if said else ""


# -- the run ----------------------------------------------------------------------------------------

def run(args) -> dict:
    from teamsrl_graph.commands.pipeline import evaluation_constrained
    from teamsrl_graph.evaluation.evaluator import ifbench_rows
    from teamsrl_graph.models.local import base_folder
    from teamsrl_graph.models.offline import sample

    started, out = time.monotonic(), Path(args.out)
    items = training_items(args)
    held = evaluation_constrained(args.heldout, args.seed)
    rows = ifbench_rows(args.ifbench)
    keep_apart(items, held, rows)
    folder = base_folder(args.model)
    sets = {"heldout_constrained": [i["prompt"] for i in held], "ifbench": [r["prompt"] for r in rows]}
    # the parts depend on the prompts themselves, not only on the options that drew them: a change to
    # the task files or to how an instruction is composed makes every reused part stale
    data = {"instructions": fingerprint([i["prompt"] for i in items]), **{s: fingerprint(p) for s, p in sets.items()}}
    store = Parts(out, args.reuse, {**settings(args), "data": data})

    samples = None
    if LEARN_FROM_SAMPLES & set(args.methods) or store.has("samples.json"):
        log.info("1/5 samples: %d instructions x %d", len(items), args.draws)
        drawn = store.json("samples.json", lambda: {"prompts": [i["prompt"] for i in items], "samples": sample(
            *load(folder), [i["prompt"] for i in items], args.draws, SAMPLE_TEMPERATURE, args.tokens,
            GENERATION_BATCH, args.seed, desc="samples")})
        samples = drawn["samples"]
        if drawn["prompts"] != [i["prompt"] for i in items] or any(len(s) < args.draws for s in samples):
            raise InputError("the samples there were drawn for other instructions or fewer draws: drop --reuse or "
                             "choose another folder", path=out / "samples.json", field="prompts")
    else:
        log.info("1/5 samples: none drawn (no method named trains on them)")
    log.info("2/5 the base model's answers: %s", {s: len(p) for s, p in sets.items()})
    base = store.json("base/answers.json", lambda: answer_sets(*load(folder), sets, args.tokens, "base", GENERATION_BATCH))
    def row(method: str, answers: str) -> bool:
        """Whether a row is in this run: named by --methods, or its answers are already there."""
        return method in args.methods or store.has(answers)

    log.info("3/5 training %s at %s samples, %d steps each", ", ".join(m for m in METHODS if m in args.methods),
             args.samples, args.steps)
    runs = {(m, k): trained(store, m, k, items, samples, folder, sets, args)
            for k in args.samples for m in METHODS if row(m, f"{m}-k{k}/answers.json")}
    log.info("4/5 PIT")
    pit = pit_part(store, items, samples, args)
    modes = [m for m in IMPROVERS if row(m, f"{m}/answers.json") and not (m == "pit" and pit.get("skipped"))]
    log.info("5/5 improving the original answers: %s", ", ".join(modes) or "none")
    improvements = {mode: store.json(f"{mode}/answers.json", lambda mode=mode: improved(mode, pit, sets, base, folder, args))
                    for mode in modes}
    report = build_report(args, items, held, rows, base, runs, pit, improvements, time.monotonic() - started)
    write_json(out / "report.json", report)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        report = run(args)
    except TeamsrlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"\n{summary(report)}\n")
    print(markdown(COLUMNS, table_rows(report)))
    print(f"\n{pit_line(report['pit'])}; seconds: {report['seconds']}")
    record(args.result, result_of(report, readme_table=not args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
