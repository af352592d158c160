"""Peak memory and time of one GRPO step (`rlvr.train_rlvr`) on the embedded model, by how many
completions go through one forward and backward pass (`RLVRConfig.pass_size`).

Each setting runs in a fresh process: one optimizer step on P instructions x K answers of up to T
tokens, the same instructions and seed for every setting. The first pass size is the baseline (by
default P x K, the whole generation batch in one pass, as trl does when not told otherwise); the
others report their peak resident memory and seconds as ratios against it. The settings alternate
over rounds and the lowest of each counts. It chose `common.training.GRPO_PASS_SIZE`: a trainers run
at 4 answers per instruction (16 instructions a step, 64 answers) ran out of 24 GiB in one pass.

    python benchmarks/grpo_passes.py [--prompts 4] [--samples 4] [--passes 16 8 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.common.training import grpo_passes


def one_step(prompts: int, samples: int, pass_size: int, tokens: int) -> dict:
    """One GRPO step in this process: {"seconds", "peak_gib"}."""
    import resource
    import time

    from teamsrl_graph.commands.pipeline import heldout_constrained
    from teamsrl_graph.evaluation.compare import load
    from teamsrl_graph.models.local import base_folder
    from teamsrl_graph.rlvr import RLVRConfig, train_rlvr

    items = heldout_constrained(prompts, 0, tasks="seeds", split="train")
    model, tokenizer = load(base_folder("local"))
    started = time.monotonic()
    train_rlvr(items, RLVRConfig(steps=1, prompts_per_step=prompts, num_generations=samples, pass_size=pass_size,
                                 max_completion_length=tokens), model, tokenizer)
    return {"seconds": round(time.monotonic() - started, 1),
            "peak_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}


def measure(prompts: int, samples: int, pass_size: int, tokens: int) -> dict:
    """one_step in a fresh process, so that each peak is its own; {"failed": why} when that process dies."""
    try:
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            return pool.submit(one_step, prompts, samples, pass_size, tokens).result()
    except (BrokenProcessPool, MemoryError) as error:  # the kernel's OOM killer ends the process
        return {"failed": str(error) or type(error).__name__}


def best(runs: list[dict]) -> dict | None:
    ok = [r for r in runs if "failed" not in r]
    return {"seconds": min(r["seconds"] for r in ok), "peak_gib": min(r["peak_gib"] for r in ok)} if ok else None


def table(sizes: list[int], measured: dict, completions: int) -> list[list]:
    """Rows: pass size, passes, seconds, peak GiB, and each as a ratio against the first size."""
    base = measured[sizes[0]]
    rows = []
    for size in sizes:
        m, (per_pass, passes) = measured[size], grpo_passes(completions, size)
        if m is None:
            rows.append([per_pass, passes, "failed", "failed", "-", "-"])
            continue
        rows.append([per_pass, passes, m["seconds"], m["peak_gib"],
                     round(m["seconds"] / base["seconds"], 2) if base else "-",
                     round(m["peak_gib"] / base["peak_gib"], 2) if base else "-"])
    return rows


COLUMNS = ["completions a pass", "passes a step", "seconds a step", "peak GiB", "time ÷ baseline", "memory ÷ baseline"]


def result_of(args, rows: list[list]) -> dict:
    return {"title": "GRPO: one step's memory and time by pass size", "columns": COLUMNS, "rows": rows,
            "summary": (f"One RLVR optimizer step on the embedded model: {args.prompts} instructions x {args.samples} "
                        f"answers of up to {args.tokens} tokens, each pass size in a fresh process, the lowest of "
                        f"{args.rounds} round(s); the first row is the baseline.")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--prompts", type=int, default=4, help="instructions in the step")
    p.add_argument("--samples", type=int, default=4, help="answers per instruction (GRPO's group)")
    p.add_argument("--tokens", type=int, default=160, help="new-token cap of an answer")
    p.add_argument("--passes", type=int, nargs="+", help="pass sizes, the baseline first (default: all, 8, 4)")
    p.add_argument("--rounds", type=int, default=2)
    result_option(p, "results/grpo_passes.json")
    args = p.parse_args(argv)
    completions = args.prompts * args.samples
    sizes = args.passes or [completions, 8, 4]
    runs = {size: [] for size in sizes}
    for round_ in range(args.rounds):
        for size in sizes[round_ % len(sizes):] + sizes[:round_ % len(sizes)]:  # the order rotates every round
            runs[size].append(measure(args.prompts, args.samples, size, args.tokens))
            print(f"round {round_ + 1}, pass size {size}: {runs[size][-1]}", flush=True)
    rows = table(sizes, {size: best(r) for size, r in runs.items()}, completions)
    print(" | ".join(COLUMNS))
    for row in rows:
        print(" | ".join(map(str, row)))
    record(args.result, result_of(args, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
