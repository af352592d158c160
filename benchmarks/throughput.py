"""Throughput of the evolution graph against raw batched generation, in one run.

1. Runs `generate` on N shipped seeds (random router, C instructions in parallel) with the embedded
   model and records every batch the model ran.
2. Replays the very same prompts straight through `model.generate`, packed into full batches of
   the same maximum size, each batch of one token limit (the best a static batcher can do).
3. Prints completion tokens/s of both and their ratio (target >= 0.85).

    python benchmarks/throughput.py [--seeds 16] [--concurrency 8] [--max-steps 2]
"""

import argparse
import time
from collections import defaultdict

from teamsrl_graph.budget import Budget
from teamsrl_graph.context import Context
from teamsrl_graph.models.chat import engine
from teamsrl_graph.run import generate
from teamsrl_graph.seeds import load_seeds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=16, help="shipped seeds to evolve")
    ap.add_argument("--concurrency", type=int, default=8, help="instructions in parallel = batch size")
    ap.add_argument("--max-steps", type=int, default=2)
    args = ap.parse_args()

    gen = engine(max_batch=args.concurrency)
    gen.run_batch([gen.tokenizer.encode("Hello")] * 2, 4, 0.0)  # warm-up

    gen.trace = []
    ledger = Budget()
    context = Context(router="random", max_steps=args.max_steps, budget=ledger)
    start = time.perf_counter()
    generate(load_seeds()[: args.seeds], context=context, concurrency=args.concurrency, progress=False)
    graph_s = time.perf_counter() - start
    graph_tokens = ledger.completion_tokens
    trace, gen.trace = gen.trace, None

    groups = defaultdict(list)
    for prompts, max_new, temperature in trace:
        groups[(max_new, temperature)].extend(prompts)
    raw_tokens, start = 0, time.perf_counter()
    for (max_new, temperature), prompts in groups.items():
        for i in range(0, len(prompts), args.concurrency):
            done = gen.run_batch(prompts[i : i + args.concurrency], max_new, temperature)
            raw_tokens += sum(c.completion_tokens for c in done)
    raw_s = time.perf_counter() - start

    calls = sum(len(p) for p, _, _ in trace)
    print(f"calls: {calls} in {len(trace)} graph batches (mean size {calls / len(trace):.2f}); "
          f"raw: full batches of {args.concurrency}")
    print(f"graph: {graph_tokens} tokens in {graph_s:.1f} s = {graph_tokens / graph_s:.1f} tok/s")
    print(f"raw:   {raw_tokens} tokens in {raw_s:.1f} s = {raw_tokens / raw_s:.1f} tok/s")
    print(f"ratio graph/raw: {(graph_tokens / graph_s) / (raw_tokens / raw_s):.3f}")


if __name__ == "__main__":
    main()
