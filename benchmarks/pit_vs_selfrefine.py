"""PIT against Self-Refine and the original responses, on held-out constrained instructions, in one run.

Every instruction carries verifiable constraints: a task (the shipped seeds for training, the
held-out file for evaluation) plus registry constraints drawn deterministically (another seed for
the held-out ones), stated in the instruction by the registry's phrasing.

1. Preference pairs for the training instructions, made by the graph's own models
   (`teamsrl_graph.pit.collect`: sampled answers ranked by constraint compliance first, partial
   credit per constraint, then by the reviewer, relevance and fluency), split by instruction into
   fold A (2/3) and B (1/3).
2. PIT trains on fold A only: gap model, improver SFT, GRPO stages 1 and 2.
3. A second gap model trains on fold B only: a judge PIT's reward never saw.
4. The held-out instructions (default: examples/pit_heldout.txt, 60 written apart from the training
   sets; exact repeats are refused) go through the real graph with no evolution (max_steps 0:
   respond, then improve), once with `improve="self-refine"` and once with `improve="pit"`, same
   rounds and token caps. Each record keeps its original answer (`draft`) and the improved one; each
   method is compared with its own run's drafts (batching can change a few greedy drafts).
5. The evaluation is the verifiers, which the improver never sees: prompt-level compliance (every
   constraint, strict) of the original answers, after PIT and after Self-Refine, with binomial
   standard errors. Two judges also compare PIT vs original, Self-Refine vs original and PIT vs
   Self-Refine: the reviewer role (the base model, `judge_pair`, asked in both orders; a split
   verdict is a tie) and the fold-B gap model (a wins when r(x, b, a) > r(x, a, b)). Identical
   answers are ties.

    python benchmarks/pit_vs_selfrefine.py --out runs/pit_vs_selfrefine

Prints a compliance table and a table of win rates (0.5 = no preference) and writes OUT/results.json, OUT/win_rates.png,
OUT/preferences.jsonl, OUT/pit/ (the trained PIT), OUT/judge_gap/ and the two graph runs' records; the
compliance table and the win rates also go to a result file for the docs (`--result`, empty to skip).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import time
from pathlib import Path

from teamsrl_graph.common import plots, prompts
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.constraints import verify
from teamsrl_graph.dataio.records import prompt_of
from teamsrl_graph.dataio.seeds import Seed, load_seeds
from teamsrl_graph.evaluation.judge import judge_pairs, win_rate
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.hir.constrained import constrained_instructions
from teamsrl_graph.models.factory import make_chat_model
from teamsrl_graph.pit.collect import collect_preferences
from teamsrl_graph.pit.config import PITConfig
from teamsrl_graph.pit.gap import GapModel, pairwise_accuracy, train_gap
from teamsrl_graph.pit.preferences import read_preferences, write_preferences
from teamsrl_graph.pit.trainer import PITTrainer
from teamsrl_graph.running.run import generate

log = logging.getLogger("pit_vs_selfrefine")


def folds(prefs, seed: int):
    order = list(range(len(prefs)))
    random.Random(seed).shuffle(order)
    cut = round(len(prefs) * 2 / 3)
    return [prefs[i] for i in order[:cut]], [prefs[i] for i in order[cut:]]


def gap_judge(gap: GapModel, instructions, a, b) -> dict:
    """Win rate of a over b under the gap model, scoring both directions."""
    ab = gap.score(instructions, b, a)  # a over reference b
    ba = gap.score(instructions, a, b)
    wins = sum(x > y for x, y, p, q in zip(ab, ba, a, b) if p != q)
    losses = sum(x < y for x, y, p, q in zip(ab, ba, a, b) if p != q)
    n = len(a)
    return {"pairs": n, "wins": wins, "losses": losses, "ties": n - wins - losses,
            "win_rate": round((wins + (n - wins - losses) / 2) / n, 4) if n else None}


def reviewer_judge(judge, instructions, a, b) -> dict:
    """Win rate of a over b by the reviewer role, both orders; identical answers are ties without a call."""
    template = prompts.load("judge_pair")
    differ = [i for i in range(len(a)) if a[i] != b[i]]
    pairs = judge_pairs(judge, template, [instructions[i] for i in differ],
                        [a[i] for i in differ], [b[i] for i in differ])
    result = win_rate(pairs)  # over the pairs the judge saw; identical answers are added as ties
    identical = len(a) - len(differ)
    ties = result["ties"] + identical
    result.update(pairs=len(a), ties=ties, identical=identical,
                  win_rate=round((result["wins"] + ties / 2) / len(a), 4) if a else None)
    return result


def compliance(items, answers) -> dict:
    """Prompt-level (every constraint, strict) and constraint-level compliance, with standard errors."""
    results = [verify(a, list(item.constraints)) for item, a in zip(items, answers)]
    prompts_ok = sum(r["strict"] for r in results)
    checks = [c["strict"] for r in results for c in r["results"]]

    def rate(k, n):
        p = k / n
        return {"accuracy": round(p, 4), "stderr": round(math.sqrt(p * (1 - p) / n), 4), "n": n}

    return {"prompt": rate(prompts_ok, len(results)), "constraint": rate(sum(checks), len(checks))}


def run_graph(seeds, mode: str, pit_dir: Path, args, out: Path) -> list[dict]:
    context = Context(max_steps=0, improve=mode, pit=str(pit_dir) if mode == "pit" else None, budget=args.budget,
                      improve_rounds=args.rounds, answer_tokens=args.tokens, improve_tokens=args.tokens)
    records = generate(seeds, out=out, context=context, overwrite=True, concurrency=8)
    by_seed = {r["seed"]: r for r in records}
    return [by_seed[s.instruction] for s in seeds]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", nargs="+", help="training tasks: seed files or graphs' dataset.jsonl (default: shipped seeds)")
    parser.add_argument("--train-count", type=int, default=60, help="training tasks used (the first ones)")
    parser.add_argument("--heldout", default="examples/pit_heldout.txt", help="held-out tasks (seed file)")
    parser.add_argument("--heldout-count", type=int, default=60, help="held-out tasks used (the first ones)")
    parser.add_argument("--constraints", type=int, default=1, help="registry constraints per instruction")
    parser.add_argument("--budget", type=int, help="query cap of each held-out graph run (the same for both)")
    parser.add_argument("--samples", type=int, default=4, help="answers sampled per training instruction")
    parser.add_argument("--preferences", help="reuse the pairs of `teamsrl pit prefs` on the training instructions")
    parser.add_argument("--tokens", type=int, default=128, help="new-token cap of every answer and improvement")
    parser.add_argument("--rounds", type=int, default=2, help="improvement rounds (PIT and Self-Refine)")
    parser.add_argument("--rl-steps", type=int, nargs=2, default=[8, 8])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/pit_vs_selfrefine")
    result_option(parser, "results/pit_vs_selfrefine.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started, seconds = time.monotonic(), {}

    # tasks only (a dataset.jsonl reads as a seed file), each with registry constraints
    seeds = [s for path in args.train or [None] for s in load_seeds(path)]
    tasks = list(dict.fromkeys(f"{s.instruction}\n\n{s.input}" if s.input else s.instruction for s in seeds))
    train_items = constrained_instructions(tasks[:args.train_count], args.seed, args.constraints)
    train = [{"id": f"t{i}", "instruction": item.prompt, "constraints": list(item.constraints)}
             for i, item in enumerate(train_items)]
    held_tasks = [s.instruction for s in load_seeds(args.heldout)][:args.heldout_count]
    overlap = [t for t in held_tasks if t in set(tasks)]  # held-out tasks must be new
    if overlap:
        raise SystemExit(f"held-out instructions also in the training set: {overlap[:3]}")
    held_items = constrained_instructions(held_tasks, args.seed + 1, args.constraints)
    heldout = [Seed(item.prompt) for item in held_items]

    # 1. preference pairs from the graph's own models (or an earlier run's, with --preferences)
    t = time.monotonic()
    if args.preferences:
        prefs, summary = read_preferences(args.preferences), {"pairs_from": args.preferences}
        asked = {prompt_of(r) for r in train}
        if any(p.prompt not in asked for p in prefs):
            raise SystemExit(f"{args.preferences} holds pairs for instructions outside the training set")
    else:
        context = Context(answer_tokens=args.tokens)
        collected = collect_preferences(train, context, samples=args.samples, temperature=0.8)
        prefs, summary = collected.preferences, collected.summary()
    write_preferences(out / "preferences.jsonl", prefs)
    fold_a, fold_b = folds(prefs, args.seed)
    seconds["preferences"] = round(time.monotonic() - t, 1)
    log.info("%d pairs (%s) -> fold A %d, fold B %d", len(prefs), summary, len(fold_a), len(fold_b))
    if len(fold_a) < 2 or not fold_b:
        raise SystemExit(f"too few preference pairs ({len(prefs)}) to train and judge; use more --samples or tasks")

    # 2. PIT on fold A
    t = time.monotonic()
    config = PITConfig(output_dir=str(out / "pit"), rl_steps=tuple(args.rl_steps), max_completion_length=args.tokens,
                       reference_tokens=args.tokens, seed=args.seed)
    trainer = PITTrainer(config, fold_a, source=str(out / "preferences.jsonl"))
    history = trainer.train()
    trainer.save()
    pit_gap = trainer.gap
    del trainer
    seconds["pit_training"] = round(time.monotonic() - t, 1)

    # 3. the judge's gap model on fold B
    judge_gap, judge_history = train_gap(fold_b, config.gap)
    judge_gap.save(out / "judge_gap")
    cross = {"pit_gap_on_fold_b": pairwise_accuracy(pit_gap, fold_b), "judge_gap_on_fold_a": pairwise_accuracy(judge_gap, fold_a)}

    # 4. held-out instructions through the graph
    t = time.monotonic()
    refined = run_graph(heldout, "self-refine", out / "pit", args, out / "self_refine")
    improved = run_graph(heldout, "pit", out / "pit", args, out / "pit_run")
    seconds["heldout_generation"] = round(time.monotonic() - t, 1)
    x = [prompt_of(r) for r in improved]
    original = [r.get("draft") or r["response"] for r in improved]
    original_sr = [r.get("draft") or r["response"] for r in refined]
    pit_final, sr_final = [r["response"] for r in improved], [r["response"] for r in refined]

    # 5. the verifiers, then the judges
    verified = {"original": compliance(held_items, original), "PIT": compliance(held_items, pit_final),
                "Self-Refine": compliance(held_items, sr_final), "original (Self-Refine run)": compliance(held_items, original_sr)}
    queries = {mode: sum(r.get("queries", 0) for r in recs) for mode, recs in (("pit", improved), ("self-refine", refined))}
    judge = make_chat_model("local", max_tokens=8)  # the reviewer role of every run above, base model
    comparisons = {
        "PIT vs original": (x, pit_final, original),
        "Self-Refine vs original": (x, sr_final, original_sr),
        "PIT vs Self-Refine": (x, pit_final, sr_final),
    }
    results = {}
    for name, (inst, a, b) in comparisons.items():
        results[name] = {"reviewer": reviewer_judge(judge, inst, a, b), "gap_fold_b": gap_judge(judge_gap, inst, a, b)}
    rounds = {mode: [len([i for i in r.get("improvements", []) if i["accepted"]]) for r in recs]
              for mode, recs in (("pit", improved), ("self-refine", refined))}
    seconds["total"] = round(time.monotonic() - started, 1)
    report = {
        "settings": vars(args), "preferences": summary, "fold_a": len(fold_a), "fold_b": len(fold_b),
        "gap_heldout": history["gap"]["heldout"], "cross_fold": cross, "judge_gap_train": judge_history["train"],
        "rl_rewards": {f"stage{i + 1}": [h["reward"] for h in s] for i, s in enumerate(history["rl"])},
        "accepted_rounds": {m: sum(v) for m, v in rounds.items()}, "drafts_identical": sum(a == b for a, b in zip(original, original_sr)),
        "compliance": verified, "queries": queries, "results": results, "seconds": seconds,
    }
    (out / "results.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    plots.bar_plot(out / "win_rates.png", {f"{n}\n({j})": r[j]["win_rate"] for n, r in results.items() for j in ("reviewer", "gap_fold_b")},
                   ylabel="win rate of the first (0.5 = tie)", title="PIT vs Self-Refine, held-out instructions")

    print(f"\n{len(heldout)} held-out instructions ({args.constraints} constraint(s) each), {args.rounds} improvement "
          f"rounds, budget {args.budget or 'uncapped'} per run; queries used {queries}")
    print("| answers | prompt-level compliance (strict) | constraint-level |\n|---|---|---|")
    for name, c in verified.items():
        print(f"| {name} | {c['prompt']['accuracy']:.3f} ± {c['prompt']['stderr']:.3f} | "
              f"{c['constraint']['accuracy']:.3f} ± {c['constraint']['stderr']:.3f} |")
    print(f"\n{len(train)} training instructions; preference pairs {len(prefs)} (fold A {len(fold_a)}, fold B {len(fold_b)}; "
          f"{summary.get('by_compliance', '?')} decided by compliance); "
          f"gap held-out accuracy {history['gap']['heldout'] and history['gap']['heldout']['accuracy']}")
    print(f"{'comparison':<26}{'reviewer (swapped)':>22}{'gap model, fold B':>22}")
    for name, r in results.items():
        rv, gp = r["reviewer"], r["gap_fold_b"]
        print(f"{name:<26}{rv['win_rate']:>10.3f} ({rv['wins']}-{rv['losses']}-{rv['ties']}){gp['win_rate']:>10.3f} "
              f"({gp['wins']}-{gp['losses']}-{gp['ties']})")
    print(f"accepted improvement rounds: {report['accepted_rounds']}; seconds: {seconds}")
    record(args.result, result_of(report))


def result_of(report: dict) -> dict:
    """write_result's arguments from the report OUT/results.json holds: the compliance table, and each
    comparison's win rate (wins-losses-ties) per judge as figures."""
    s, compliance_ = report["settings"], report["compliance"]
    n = compliance_["original"]["prompt"]["n"]
    judges = {"reviewer": "reviewer", "gap_fold_b": "fold-B gap model"}
    figures = {f"{label} win rate, {name}": f"{r[key]['win_rate']:.3f} ({r[key]['wins']}-{r[key]['losses']}-{r[key]['ties']})"
               for key, label in judges.items() for name, r in report["results"].items()}
    return {"title": "PIT against Self-Refine", "summary": (
        f"PIT trained on fold A ({report['fold_a']} preference pairs) of pairs the graph's own models made on the "
        f"training instructions; {n} held-out instructions with {s['constraints']} registry constraint(s) each, "
        f"answered and improved for at most {s['rounds']} rounds by PIT and by Self-Refine through the graph "
        f"(query cap {s['budget'] or 'none'} per run). Prompt-level (every constraint, strict) and constraint-level "
        "compliance by the verifiers, with standard errors; win rates (0.5 = no preference, identical answers tie) "
        f"by the reviewer asked in both orders and by a gap model trained on fold B ({report['fold_b']} pairs)."),
        "columns": [f"answers ({n} held-out instructions)", "prompt-level compliance (strict)", "constraint-level"],
        "rows": [[name, *(f"{c[k]['accuracy']:.3f} ± {c[k]['stderr']:.3f}" for k in ("prompt", "constraint"))]
                 for name, c in compliance_.items()],
        "figures": figures}


if __name__ == "__main__":
    main()
