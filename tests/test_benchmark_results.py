"""Every benchmark script turns its in-memory results into a result file: each script's `result_of`,
fed small inputs shaped like a real run's, gives write_result's arguments; the file written from them
passes `load_result` and holds the figures and cells the script prints. No benchmark or model runs."""

from __future__ import annotations

import importlib.util
from argparse import Namespace
from pathlib import Path

import pytest

from teamsrl_graph.common.results import load_result, record, write_result

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def script(name: str):
    """benchmarks/<name>.py as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def score(accuracy: float, stderr: float = 0.05, prompts: int = 20) -> dict:
    return {"accuracy": accuracy, "stderr": stderr, "n": prompts}


def ifbench(loose: float, prompts: int = 20) -> dict:
    return {"prompts": prompts, "prompt_loose": score(loose), "prompt_strict": score(loose / 2),
            "instruction_loose": score(loose + 0.1), "instruction_strict": score(loose)}


def cpu_runtimes(m):
    runs = {"engine": [{"tokens": 800, "seconds": 10.0, "ratio": 1.0, "verified": 0.25, "tasks": 0.5},
                       {"tokens": 900, "seconds": 10.0, "ratio": 1.0, "verified": 0.35, "tasks": 0.5}],
            "torch-int8": [{"tokens": 1200, "seconds": 10.0, "ratio": 1.5, "verified": 0.2, "tasks": 0.25},
                           {"tokens": 1170, "seconds": 10.0, "ratio": 1.3, "verified": 0.3, "tasks": 0.5}],
            "engine-other-dtype": [{"tokens": 400, "seconds": 10.0, "ratio": 0.5, "verified": 0.25, "tasks": 0.5},
                                   {"tokens": 360, "seconds": 10.0, "ratio": 0.4, "verified": 0.35, "tasks": 0.5}]}
    import torch

    return m.result_of(runs, Namespace(prompts=32, samples=4, temperature=0.7, max_new_tokens=256, max_batch=32, rounds=2),
                       torch.float32)


def answer_rating(m):
    parts = {"reviewer": 0.38, "relevance": 0.5, "fluency": 0.61, "rating (equal weights)": 0.52}
    return m.result_of({"verifiable": parts, "off-topic": {k: round(v + 0.1, 2) for k, v in parts.items()}},
                       {"verifiable": 60, "off-topic": 30})


def eval_speed(m):
    speed = {"lora, 8": [10.0, 12.0], "merged, 8": [12.0, 15.0], "merged, 16": [14.0, 18.0], "merged, 32": [15.0, 19.0]}
    return m.result_of(speed, [30, 31], {"lora": 0.1667, "merged": 0.15, "adapter's own effect": 0.9}, 32, 128)


def long_prompts(m):
    from argparse import Namespace

    return m.result_of({"fixed rows": [12.0, 13.0], "rows and tokens capped": [70.0, 72.0]},
                       {"fixed rows": 5182, "rows and tokens capped": 2755}, 1, [[1] * 2591, [1] * 164],
                       Namespace(tokens=256, max_tokens=8192, rounds=2))


def hir_args(**extra) -> dict:
    return {"rounds": 2, "prompts": 16, "samples": 4, "steps": 8, "batch_size": 8, "constraints": 1,
            "eval_instances": 40, **extra}


def hir_constrained(m):
    method = lambda p, loose: {"accuracy": p, "n": 24, "ifbench": ifbench(loose), "rounds": []}
    return m.result_of("constrained", {"train": 24, "heldout": 24, "args": hir_args(),
                                       "base": {"accuracy": 0.125, "n": 24, "ifbench": ifbench(0.3)},
                                       "methods": {"SFT on verified": method(0.2, 0.15), "HIR": method(0.25, 0.2)}})


def hir_tasks(m):
    cells = lambda b, s, h: {"base": {"accuracy": b, "n": 40}, "SFT on verified": {"accuracy": s, "n": 40},
                             "HIR": {"accuracy": h, "n": 40}}
    return m.result_of("tasks", {"args": hir_args(), "sweep": {"chosen": "HIR balanced"},
                                 "tasks": {"object_counting-2": cells(0.375, 0.425, 0.375), "word_sorting-3": cells(0.1, 0.2, 0.15)}})


def mia_audit(m):
    def audit(epsilon, ratio_auc):
        return {"epsilon": epsilon, "privacy": None, "eval": {
            "loss_dtype": "bfloat16", "heldout_loss": {"base": 1.004, "finetuned": 0.941},
            "reference_loss": {"base": 2.786, "finetuned": 2.884},
            "membership_inference": {"members": 37, "nonmembers": 43, "loss_ratio_auc": ratio_auc,
                                     "loss_ratio_auc_interval": [0.66, 0.87], "chance_band": [0.36, 0.64],
                                     "loss_auc": 0.518, "base_loss_control_auc": 0.48}}}
    return m.result_of([audit(0.0, 0.771), audit(4.0, 0.5)], 80)


def mia_audit_paired(m):
    comparison = {"n": 200, "base": 0.11, "finetuned": 0.16, "p_value": 0.004, "gained": 14, "lost": 4}
    results = [  # adapters evaluated the main job's way too (--constrained, --ifbench)
        {"epsilon": e, "seconds": 61.5, "eval": {
            "loss_dtype": "bfloat16", "heldout_loss": {"base": 1.0, "finetuned": 0.9}, "reference_loss": {"base": 2.8, "finetuned": 2.8},
            "heldout_constrained": comparison, "ifbench": {**comparison, "n": 276, "base": 0.101, "finetuned": 0.098, "p_value": 0.8},
            "membership_inference": {"members": 37, "nonmembers": 43, "loss_ratio_auc": 0.6, "loss_ratio_auc_interval": [0.5, 0.7],
                                     "chance_band": [0.36, 0.64], "loss_auc": 0.5, "base_loss_control_auc": 0.5}}}
        for e in (0.0, 8.0)]
    results[1]["privacy"] = {"epsilon_spent": 7.98, "noise_multiplier": 0.61234, "steps": 54}
    return m.result_of(results, 80)


def finetune_settings(m):
    def row(lr, epochs, base, tuned, reference, evaluations=1, adapter="r8 attention", trainer="sft"):
        return {"trainer": trainer, "adapter": adapter, "lr": lr, "epochs": epochs, "evaluations": evaluations,
                "best_step": 12 if epochs else None, "steps": int(14 * epochs) if epochs else 20,
                "train_seconds": 150.4, "mia_loss_ratio_auc": 0.61,
                "mia_interval": [0.5, 0.7], "reference_loss": {"base": 2.79, "finetuned": reference},
                "validation": {"n": 140, "base": base, "finetuned": tuned, "p_value": 0.03, "gained": 9, "lost": 2}}
    # 1e-3 gains one prompt more than 3e-4 (within the tie margin) at a higher reference loss: 3e-4 wins
    return m.result_of([row(3e-4, 1.0, 0.2, 0.25, 2.80), row(1e-3, 3.0, 0.2, 0.257, 3.1), row(1e-3, 1.0, 0.2, 0.1, 2.9),
                        row(1e-3, 1.0, 0.2, 0.1, 2.9, evaluations=4, adapter="r16 all-linear"),
                        row(1e-3, None, 0.2, 0.2, 2.85, evaluations=None, trainer="rlvr")], 300)


def finetune_settings_rlvr(m):
    """rlvr gains two prompts more than the sft row: it is chosen."""
    rows = finetune_settings(m)["rows"]
    sft, rlvr = ({**dict(zip(["trainer", "adapter", "lr", "epochs", "evaluations"], r[:5])), "steps": 20, "best_step": None,
                  "train_seconds": 1.0, "mia_loss_ratio_auc": 0.5, "reference_loss": {"base": 2.79, "finetuned": 2.8},
                  "validation": {"n": 140, "base": 0.2, "finetuned": tuned, "p_value": 0.01, "gained": 20, "lost": 2}}
                 for r, tuned in ((rows[0], 0.25), (rows[4], 0.265)))
    return m.result_of([sft, rlvr], 300)


def pit_vs_selfrefine(m):
    judged = lambda rate, w, l, t: {"win_rate": rate, "wins": w, "losses": l, "ties": t}
    compliance = {"prompt": score(0.267, 0.081, 30), "constraint": score(0.3, 0.08, 30)}
    return m.result_of({"settings": {"constraints": 1, "rounds": 2, "budget": None}, "fold_a": 16, "fold_b": 8,
                        "compliance": {"original": compliance, "PIT": compliance, "Self-Refine": compliance},
                        "results": {"PIT vs original": {"reviewer": judged(0.533, 2, 0, 28), "gap_fold_b": judged(0.5, 1, 1, 28)}}})


def query_efficiency(m):
    def row(expert_per_accepted):
        measured = {c: 1.0 for c in m.COLUMNS}
        return {**measured, "queries": 150, "expert q/accepted": expert_per_accepted}
    return m.result_of({"policy": row(2.0), "random": row(4.0), "fixed": row(float("inf"))}, 24, 150, 3)


def ray_scaling(m):
    run = lambda workers, qps: {"workers": workers, "records": 48, "queries": 300, "s": 300 / qps,
                                "records/s": 48 * qps / 300, "queries/s": qps}
    return m.result_of([(run(1, 10.0), run(2, 19.6)), (run(1, 10.0), run(2, 19.2))],
                       Namespace(cpus=2, seeds=48, max_steps=2, concurrency=4, latency=0.2))


def reviewer_calibration(m):
    pairs = [{"gain": True}, {"gain": True}, {"gain": False}, {"gain": False}]
    return m.result_of({"in-depth": m.calibration(pairs, [0.6, 0.3, 0.2, 0.1]),
                        "breadth": m.calibration(pairs, [0.1, 0.2, 0.3, 0.6])}, "local")


def reward_terms(m):
    terms = {"deepen": {"n": 10, "score": 0.5, "novelty": 0.2, "queries": 1.9, "ended": 3, "verified": 1 / 3, "samples": 2.0},
             "breadth": {"n": 8, "score": 0.4, "novelty": 0.6, "queries": 2.0, "ended": 2, "verified": 0.5, "samples": 3.0}}
    stop = {"episodes": 4, "verified": 0.25, "samples": 3.5}
    return m.result_of(terms, stop, (0.3, 0.5, 0.01234, m.episode_queries(terms, stop, 9)), 9, 45, 40)


def sft_throughput(m):
    return m.result_of({"plain trl": [100.0, 115.8], "teamsrl": [120.0, 130.2]}, 34, 6, 1.0)


def throughput(m):
    return m.result_of({"engine/static": [2.0, 2.2], "graph/static at concurrency 8": [1.12, 1.29]},
                       Namespace(seeds=16, max_steps=2, rounds=2), 8)


def verified_sft(m):
    def arm(loose):
        return {"records": 30, "trained_on": 20, "queries": 240, "eval": {
            "ifbench": {"scores": {"base": ifbench(0.1, 40), "finetuned": ifbench(loose, 40)}},
            "reference_loss": {"base": 2.8, "finetuned": 2.7}, "membership_inference": {"loss_ratio_auc": 0.6}}}
    return m.result_of({"verified": arm(0.15), "unverified": arm(0.125)}, 240)


def router_downstream(m):
    def stats(base, tuned, gained, lost, p, n=40):
        return {"n": n, "base": base, "finetuned": tuned, "difference": round(tuned - base, 4), "gained": gained,
                "lost": lost, "p_value": p, "interval": [-0.05, 0.15]}

    def row(router, budget, queries, per_verified, held):
        return {"router": router, "budget": budget, "queries": queries, "expert_queries": 900, "verified": 60,
                "expert_per_verified": per_verified, "diversity": 0.81, "type_entropy": 4.1, "types": {},
                "actions": {"entropy_bits": 2.4, "largest_share": 0.3}, "families": None, "added_met": {"met": 7, "all": 20},
                "trained_on": 50,
                "stops": [{"step": 0, "stop_share": 0.1, "verified_yield": 0.5}, {"step": 1, "stop_share": None,
                                                                                  "verified_yield": None}],
                "vs_base": {"heldout_constrained": stats(0.2, held, 12, 4, 0.077), "ifbench": stats(0.3, 0.3, 2, 2, 1.0)}}
    rows = [row("policy", 1500, 1490, 12.0, 0.25), row("random", 1500, 1496, 15.0, 0.24), row("policy", 500, 498, 11.0, 0.21)]
    versus = {"heldout_constrained": stats(0.24, 0.25, 6, 4, 0.754), "ifbench": stats(0.3, 0.3, 1, 1, 1.0)}
    report = {"settings": {"generation": {"max_steps": 2, "answer_samples": 4, "constraints_per_instruction": 3},
                           "answer_tokens": 192}, "budget": 1500, "seeds": 164, "heldout": 200, "ifbench": 276,
              "base": {"heldout_constrained": 0.2, "ifbench": 0.3}, "rows": rows,
              "comparisons": {"policy": m.comparison(rows, versus, 1500)}}
    return m.result_of(report, 1500)


def pass_rates(m, complete=True):
    per_type = {"punctuation:no_comma": {"samples": 32, "passes": 2, "rate": 0.0625, "prompts": 4, "prompts_passed": 1},
                "detectable_format:title": {"samples": 32, "passes": 30, "rate": 0.9375, "prompts": 4, "prompts_passed": 4},
                "startend:quotation": {"samples": 32, "passes": 0, "rate": 0.0, "prompts": 4, "prompts_passed": 0}}
    return m.result_of({"command": "python benchmarks/pass_rates.py --rows 384", "commit": "0594276", "cores": 2,
                        "date": "2026-12-04T05:34:52+00:00", "torch_threads": 2, "dtype": "torch.bfloat16",
                        "settings": {"prompts": 4, "samples": 8, "temperature": 0.7, "top_p": 0.95, "max_new_tokens": 160},
                        "seconds": 1348.3, "complete": complete, "per_type": per_type,
                        "overall": {"samples": 96, "passes": 32, "rate": 0.3333}})


def fault_soak(m):
    return m.result_of(Namespace(seeds=200, faults=0.1, kills=3), {
        "completed": 200, "seeds": 200, "duplicated": 0, "lost": 0, "requests_booked": 1310, "queries_booked": 1310,
        "http_requests": 1310, "budget": 3000, "budget_held": True, "tracebacks": 0, "seconds": 72})


def trainers(m, pit=None, methods=None):
    def stats(base, tuned, gained, lost, p, n=40):
        return {"n": n, "base": base, "finetuned": tuned, "difference": round(tuned - base, 4), "gained": gained,
                "lost": lost, "p_value": p, "interval": [-0.05, 0.15]}

    def row(method, k, baseline, steps, held, bench, reference=None, **extra):
        return {"method": method, "samples": k, "baseline": baseline, "steps": steps, "heldout_constrained": held,
                "ifbench": bench, "reference_loss": reference, **extra}

    loss = {"baseline": 2.8, "method": 2.75}
    rows = [row("sft-verified", 2, "base", 6, stats(0.1, 0.15, 3, 1, 0.625), stats(0.2, 0.225, 2, 1, 1.0), loss),
            row("hir", 2, "base", 6, stats(0.1, 0.2, 5, 1, 0.2188), stats(0.2, 0.2, 1, 1, 1.0), loss),
            row("rlvr", 2, "base", 6, stats(0.1, 0.125, 2, 1, 1.0), stats(0.2, 0.175, 0, 1, 1.0), loss),
            row("pit", None, "original", None, stats(0.1, 0.1, 0, 0, 1.0), stats(0.2, 0.2, 0, 0, 1.0), queries=40),
            row("self-refine", None, "original", None, stats(0.1, 0.05, 0, 2, 0.5), stats(0.2, 0.15, 0, 2, 0.5), queries=80),
            row("original", None, None, None, {"n": 40, "finetuned": 0.1}, {"n": 40, "finetuned": 0.2})]
    rows = [r for r in rows if methods is None or r["method"] in (*methods, "original")]
    return m.result_of({"settings": {"samples": [2], "steps": 6, "lr": 1e-3, "tokens": 96, "rounds": 1, "improve_budget": None},
                        "instructions": 24, "heldout": 40, "ifbench": 40, "rows": rows, "seconds": 800,
                        "pit": pit or {"samples": 2, "pairs": 18, "train_pairs": 15, "heldout_pairs": 3, "gap_heldout_accuracy": 0.667},
                        "pit_vs_self_refine": {"heldout_constrained": stats(0.05, 0.1, 3, 1, 0.625), "ifbench": None}})


def test_trainers_result_counts_no_pit_pairs_when_no_samples_were_drawn():
    result = trainers(script("trainers"), pit={"samples": 0, "pairs": 0, "skipped": "no samples drawn"})
    assert not [k for k in result["figures"] if k.startswith("PIT")]
    few = trainers(script("trainers"), pit={"samples": 2, "pairs": 1, "skipped": "1 preference pair(s)"})
    assert few["figures"]["PIT preference pairs (decided by compliance)"] == 1
    unasked = trainers(script("trainers"), pit={"samples": 2, "pairs": 9, "skipped": "not among --methods"})
    assert not [k for k in unasked["figures"] if k.startswith("PIT")]


@pytest.mark.parametrize("methods, says, not_says", [
    (("rlvr",), ["rlvr starts from the base model", "is paired"], ["pit", "self-refine", "round(s)"]),
    (("sft-verified", "hir", "rlvr", "pit", "self-refine"), ["sft-verified, hir, rlvr start", "pit and self-refine improve",
                                                             "round(s)"], []),
    (("self-refine",), ["self-refine improves", "round(s)"], ["sft-verified", "rlvr"]),
])
def test_trainers_summary_describes_only_the_rows_it_has(methods, says, not_says):
    summary = trainers(script("trainers"), methods=methods)["summary"]
    assert all(s in summary for s in says) and not any(s in summary for s in not_says), summary


def gap_features(m):
    return m.result_of({"pairs": 320, "instructions": 640, "draws": 8, "folds": 5, "seconds": 200,
                        "accuracy": {"form statistics, defaults": [0.75, 0.7, 0.8, 0.75, 0.8],
                                     "word counts only, defaults": [0.7, 0.65, 0.7, 0.75, 0.7]}})


# script, inputs, then what the written file must hold: figures, rows by index, text in the summary
def grpo_passes(m):
    measured = {16: {"seconds": 80.0, "peak_gib": 13.6}, 8: {"seconds": 60.0, "peak_gib": 6.8}, 3: None}
    return m.result_of(Namespace(prompts=4, samples=4, tokens=160, rounds=2), m.table([16, 8, 3], measured, 16))


README_TABLES = {"router_downstream", "mia_audit_paired"}  # CASES whose table the README shows
CASES = [
    ("grpo_passes", grpo_passes, {}, {0: [16, 1, 80.0, 13.6, 1.0, 1.0], 1: [8, 2, 60.0, 6.8, 0.75, 0.5],
                                      2: [2, 8, "failed", "failed"]}, "4 instructions x 4 answers"),
    ("answer_rating", answer_rating, {}, {0: ["reviewer", 0.38, 0.48]}, "ROC-AUC"),
    ("eval_speed", eval_speed, {"answers the merged model left unchanged (batch 8)": "30-31 of 32",
                                "mean absolute logit error, lora": 0.167},
     {1: ["merged, 8", "12.0-15.0", "1.20-1.25"]}, "32 IFBench prompts"),
    ("hir_vs_sft", hir_constrained, {}, {0: ["base", "0.125 ± 0.068", "0.300 ± 0.050", "0.150 ± 0.050", "0.400 ± 0.050"]},
     "24 held-out"),
    ("hir_vs_sft", hir_tasks, {}, {0: ["object counting", 2, "0.375 ± 0.077", "0.425 ± 0.078", "0.375 ± 0.077"]},
     "HIR balanced"),
    ("mia_audit", mia_audit, {}, {0: ["plain LoRA", "37 / 43", "0.771 [0.66, 0.87]", "[0.36, 0.64]", "0.518", "0.480",
                                      "1.004 → 0.941", "2.786 → 2.884", "-", "-"], 1: ["DP-SGD, ε = 4"]}, "80 usable records"),
    ("mia_audit", mia_audit_paired, {}, {1: ["DP-SGD, ε = 8", "37 / 43", "0.600 [0.50, 0.70]", "[0.36, 0.64]", "0.500",
                                             "0.500", "1.0 → 0.9", "2.8 → 2.8", "7.98 (0.612)", "62", "0.110 → 0.160 (p 0.004)",
                                             "0.101 → 0.098 (p 0.8)"]}, "80 usable records"),
    ("finetune_settings", finetune_settings, {"chosen trainer": "sft", "chosen adapter": "r8 attention",
                                              "chosen learning rate": 3e-4, "chosen most epochs": 1.0,
                                              "chosen evaluations per epoch": 1},
     {1: ["sft", "r8 attention", 0.001, 3.0, 1, "12 / 42", 140, 0.2, 0.257, "+9 / -2", "0.03", 2.79, 3.1, 0.61, 150],
      3: ["sft", "r16 all-linear", 0.001, 1.0, 4, "12 / 14"], 4: ["rlvr", "r8 attention", 0.001, None, None, "- / 20"]},
     "sft, adapter r8 attention, learning rate 0.0003, at most 1 epochs, 1 validation loss per epoch"),
    ("finetune_settings", finetune_settings_rlvr, {"chosen trainer": "rlvr", "chosen most epochs": None},
     {1: ["rlvr", "r8 attention", 0.001, None, None, "- / 20"]},
     "rlvr, adapter r8 attention, learning rate 0.001, 20 optimizer steps."),
    ("pit_vs_selfrefine", pit_vs_selfrefine, {"reviewer win rate, PIT vs original": "0.533 (2-0-28)",
                                              "fold-B gap model win rate, PIT vs original": "0.500 (1-1-28)"},
     {0: ["original", "0.267 ± 0.081", "0.300 ± 0.080"]}, "fold A (16"),
    ("query_efficiency", query_efficiency, {"learned ÷ random expert q/accepted": 0.5, "learned ÷ random q/accepted": 1.0},
     {2: ["fixed", 150, 1.0, 1.0, 1.0, 1.0, "inf"]}, "24 unseen seeds"),
    ("ray_scaling", ray_scaling, {"2 workers / 1 worker (mean of 2 rounds)": 1.94, "per round": "1.96, 1.92"},
     {1: [1, 2, 48, 300, 15.31, 3.14, 19.6]}, "2 CPUs"),
    ("reviewer_calibration", reviewer_calibration, {}, {0: ["in-depth", "2 + 2", 1.0, 0.75, 1.0], 1: ["breadth", "2 + 2", 0.0]},
     "model `local`"),
    ("reward_terms", reward_terms, {"verify weight": 0.3, "novelty weight": 0.5, "queries of a mean episode": 6.78,
                                    "spread of the per-operation mean reward": 0.012,
                                    "mean reward of STOP at step 0": -0.35},
     {0: ["deepen", 10, 0.5, 0.2, 1.9, 3, 0.333, 2.0, 0.38],  # 0.5 + 0.5 * 0.2 - 0.19 + 3 / 10 * (0.3 / 3 - 0.2)
      2: ["STOP at step 0", None, None, None, None, 4, 0.25, 3.5, -0.35]}, "40 training seeds"),
    ("sft_throughput", sft_throughput, {"ratio teamsrl / plain trl": 1.124, "teamsrl, best (tokens/s)": 130.2,
                                        "plain trl, per round (tokens/s)": "100.0, 115.8"}, {}, "34 conversations"),
    ("throughput", throughput, {}, {0: ["engine/static", 2.1, 2.0, 2.2]}, "batches of 8"),
    ("verified_sft", verified_sft, {}, {0: ["base", "0.100 ± 0.050", "0.050 ± 0.050", "0.200 ± 0.050", "0.100 ± 0.050", "none"],
                                        2: ["fine-tuned, unverified"]}, "240 queries"),
    ("router_downstream", router_downstream, {
        "learned ÷ random expert queries per verified record": "0.8 (target ≤ 0.5: not met)",
        "held-out accuracy at equal queries, learned − random":
            "0.250 vs 0.240 (+0.010, +6 / -4, p 0.754, 95% [-0.050, +0.150]) (target ≥ 0: met)",
        "fewest queries at which learned reaches random's held-out accuracy": "1490 (target ≤ 1496 / 3: not met)"},
     {0: ["learned", 1490, 900, 60, "12.00", "0.810", "4.10", "2.40", "0.30", "-", "7 / 20", "0.10 / -", "0.50 / -", 50,
          "0.200 → 0.250", "+12 / -4 (0.077)"], 2: ["learned @ 500", 498]}, "164 seeds no router was trained on"),
    ("fault_soak", fault_soak, {"records lost (200 seeds, 10% faults, 3 SIGKILLs)": 0, "budget (3000) held": "yes",
                                "chat requests the server saw": 1310}, {}, "200 seeds"),
    ("trainers", trainers, {"PIT gap model, held-out pairwise accuracy": 0.667, "PIT pairs, training / held out": "15 / 3",
                            "improvement queries, self-refine": 80,
                            "pit vs self-refine, held-out constrained": "0.100 vs 0.050 (+3 / -1, p 0.625)"},
     {0: ["sft-verified", 2, 6, "base", 40, "0.100", "0.150", "+3 / -1", "0.625", 40, "0.200 → 0.225", "+2 / -1", "1",
          "2.800 → 2.750"],
      4: ["self-refine", None, None, "original", 40, "0.100", "0.050", "+0 / -2", "0.5"],
      5: ["original", None, None, "-", 40, "-", "0.100", "-", "-", 40, "0.200", "-", "-", "-"]}, "24 training instructions"),
    ("gap_features", gap_features, {"best setting": "form statistics, defaults", "its mean pairwise accuracy": 0.76},
     {1: ["word counts only, defaults", 0.7, 0.65, 0.75, "0.700 0.650 0.700 0.750 0.700"]}, "320 training pairs"),
    ("cpu_runtimes", cpu_runtimes, {}, {0: ["engine", 85.0, 1.0, 1.0, 0.3, 0.5], 1: ["torch-int8", 118.5, 1.4, 1.3, 0.25, 0.375],
                                      2: ["engine-other-dtype", 38.0, 0.45, 0.4, 0.3, 0.5]},
     "32 shipped validation tasks with one to three constraints (training phrasings), 4 sampled answers each (T 0.7, "
     "up to 256 new tokens, 32 rows at a time), answered by each runtime in the same run; 2 round(s); engine in float32, "
     "engine-other-dtype in bfloat16."),
    ("long_prompts", long_prompts, {"capped ÷ fixed (min-max)": "5.54-5.83", "answers the same word for word": "1 of 2"},
     {0: ["fixed rows", "12.0-13.0", 5182], 1: ["rows and tokens capped", "70.0-72.0", 2755]},
     "the 2 longest IFBench prompts (2591 to 164 tokens)"),
    ("pass_rates", pass_rates, {"overall pass rate": 0.3333, "passes / samples": "32/96"},
     {0: ["detectable_format:title", 32, 30, 0.9375, "4/4"], 2: ["startend:quotation", 32, 0, 0.0, "0/4"]}, "4 seed tasks"),
]


@pytest.mark.parametrize("name, inputs, figures, rows, said", CASES, ids=[f"{c[0]}-{c[1].__name__}" for c in CASES])
def test_result_of_writes_a_loadable_result(tmp_path, name, inputs, figures, rows, said):
    result = inputs(script(name))
    loaded = load_result(write_result(tmp_path / f"{name}.json", **result))
    assert loaded["title"] and said in loaded["summary"]
    assert loaded.get("readme_table", False) is (inputs.__name__ in README_TABLES), "the README shows its table"
    for figure, value in figures.items():
        assert loaded["figures"][figure] == value, figure
    for index, start in rows.items():
        assert loaded["rows"][index][:len(start)] == start, index


@pytest.mark.parametrize("complete, note", [(True, False), (False, True)])
def test_pass_rates_keeps_the_measured_run(tmp_path, complete, note):
    loaded = load_result(record(tmp_path / "pass_rates.json", pass_rates(script("pass_rates"), complete)))
    assert (loaded["commit"], loaded["date"], loaded["machine"]["cores"]) == ("0594276", "2026-12-04T05:34:52+00:00", 2)
    assert loaded["command"] == "python benchmarks/pass_rates.py --rows 384"
    assert [row[3] for row in loaded["rows"]] == sorted((row[3] for row in loaded["rows"]), reverse=True)
    assert ("complete: false" in loaded["summary"]) is note


def test_record_with_no_path_writes_nothing(tmp_path):
    assert record("", {"title": "x", "figures": {"a": 1}}) is None
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("inputs, in_readme", [(mia_audit, False), (mia_audit_paired, True)])
def test_mia_audit_with_the_paired_evaluations_is_the_readmes_privacy_table(tmp_path, inputs, in_readme):
    loaded = load_result(write_result(tmp_path / "audit.json", **inputs(script("mia_audit"))))
    assert loaded.get("readme_table", False) is in_readme
    assert ("IFBench (loose)" in loaded["columns"]) is in_readme
    assert loaded["title"].startswith("DP-SGD on the main job's records") is in_readme
