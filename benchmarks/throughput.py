"""Throughput of the evolution graph and of the batching engine against static batched generation.

Each round, on the embedded model:
1. runs `generate` on N shipped seeds (random router) at each concurrency asked for, recording every
   request the engine served (prompt, token limit) and the engine's mean decode-batch occupancy;
2. replays the very requests of the first concurrency straight through `model.generate`, packed
   into full batches of the engine's max_batch (the graph's: LocalChatModel's default), one token
   limit per batch (the best a static batcher can do; a scoring request is a 1-token generation
   there);
3. submits the same requests to the engine all at once (continuous batching, no graph); steps 2
   and 3 swap order every round. `--engine-batch N` also replays them through the engine at
   max_batch N (the static figure keeps the graph's max_batch).

It prints completion tokens/s and the ratios graph / static (target >= 0.95) and engine / static
(goal >= 2), per round and their spread. All figures of a round come from the same minutes, so the
ratios hold up on a shared machine better than the raw tok/s do. The ratios also go to a result file
for the docs (`--result`, empty to skip).

    python benchmarks/throughput.py [--seeds 16] [--concurrency 8 16] [--max-steps 2] [--rounds 2] [--engine-batch 16]
                                    [--result results/throughput.json]
"""

import argparse
import time
from collections import defaultdict

from teamsrl_graph import Context, generate
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.dataio.seeds import load_seeds
from teamsrl_graph.models.chat import LocalChatModel, engine


def graph_run(gen, seeds, concurrency: int, max_steps: int) -> dict:
    gen.trace, before = [], (gen.stats.completion_tokens, gen.stats.decode_steps, gen.stats.decode_rows)
    # review_tokens=1: the reviewer's Yes/No is read from first-token log-probabilities, a scoring request
    context = Context(router="random", max_steps=max_steps, review_tokens=1)
    start = time.perf_counter()
    generate(seeds, context=context, concurrency=concurrency, progress=False)
    seconds = time.perf_counter() - start
    tokens = gen.stats.completion_tokens - before[0]
    steps, rows = gen.stats.decode_steps - before[1], gen.stats.decode_rows - before[2]
    trace, gen.trace = gen.trace, None
    return {"tokens": tokens, "s": seconds, "occupancy": rows / max(1, steps), "trace": trace}


def static_run(gen, trace, max_batch: int) -> dict:
    groups = defaultdict(list)
    for prompt, max_new, temperature in trace:
        groups[(max(1, max_new), temperature)].append(prompt)
    tokens, start = 0, time.perf_counter()
    for (max_new, temperature), prompts in groups.items():
        for i in range(0, len(prompts), max_batch):
            done = gen.run_batch(prompts[i : i + max_batch], max_new, temperature)
            tokens += sum(c.completion_tokens for c in done)
    return {"tokens": tokens, "s": time.perf_counter() - start}


def engine_run(gen, trace, max_batch: int) -> dict:
    before, kept = (gen.stats.decode_steps, gen.stats.decode_rows), gen.max_batch
    gen.max_batch = max_batch
    start = time.perf_counter()
    try:
        futures = [gen.submit(prompt, max_new, temperature) for prompt, max_new, temperature in trace]
        tokens = sum(f.result().completion_tokens for f in futures)
    finally:
        gen.max_batch = kept
    steps, rows = gen.stats.decode_steps - before[0], gen.stats.decode_rows - before[1]
    return {"tokens": tokens, "s": time.perf_counter() - start, "occupancy": rows / max(1, steps)}


def rate(run: dict) -> float:
    return run["tokens"] / run["s"]


def spread(values: list[float]) -> str:
    return f"mean {sum(values) / len(values):.3f}, min {min(values):.3f}, max {max(values):.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=16, help="shipped seeds to evolve")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 16], help="seeds in parallel (graph runs)")
    ap.add_argument("--max-steps", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--engine-batch", type=int, nargs="+", default=[],
                    help="also replay the requests through the engine at these max_batch sizes")
    result_option(ap, "results/throughput.json")
    args = ap.parse_args()

    max_batch = LocalChatModel.model_fields["max_batch"].default  # what the graph's models use
    gen = engine(max_batch=max_batch)
    gen.generate(gen.tokenizer.encode("Hello"), 4)  # warm-up
    gen.run_batch([gen.tokenizer.encode("Hello")] * 2, 4, 0.0)
    seeds = load_seeds()[: args.seeds]
    ratios = defaultdict(list)
    for round_ in range(1, args.rounds + 1):
        graphs = {c: graph_run(gen, seeds, c, args.max_steps) for c in args.concurrency}
        trace = graphs[args.concurrency[0]]["trace"]
        if round_ % 2:  # the replays alternate their order from round to round
            static = static_run(gen, trace, max_batch)
            continuous = engine_run(gen, trace, max_batch)
        else:
            continuous = engine_run(gen, trace, max_batch)
            static = static_run(gen, trace, max_batch)
        larger = {b: engine_run(gen, trace, b) for b in args.engine_batch}
        scored = sum(1 for _, n, _ in trace if n == 0)
        print(f"round {round_}: {len(trace)} requests ({scored} scoring), {static['tokens']} tokens")
        print(f"  static generate, batches of {max_batch}: {rate(static):6.1f} tok/s")
        print(f"  engine, same requests at once:  {rate(continuous):6.1f} tok/s  occupancy {continuous['occupancy']:.2f}"
              f"  engine/static {rate(continuous) / rate(static):.3f}")
        ratios["engine/static"].append(rate(continuous) / rate(static))
        for b, run in larger.items():
            print(f"  engine at max_batch {b:2d}:        {rate(run):6.1f} tok/s  occupancy {run['occupancy']:.2f}"
                  f"  engine/static {rate(run) / rate(static):.3f} (static still in batches of {max_batch})")
            ratios[f"engine at max_batch {b}/static"].append(rate(run) / rate(static))
        for c, g in graphs.items():
            r = rate(g) / rate(static)
            ratios[f"graph/static at concurrency {c}"].append(r)
            ratios[f"occupancy at concurrency {c}"].append(g["occupancy"])
            print(f"  graph, concurrency {c:3d}:         {rate(g):6.1f} tok/s  occupancy {g['occupancy']:.2f}"
                  f"  graph/static {r:.3f}  ({g['tokens']} tokens in {g['s']:.1f} s)")
    print(f"over {args.rounds} rounds (max batch {max_batch}, {args.seeds} seeds, {args.max_steps} steps):")
    for name, values in ratios.items():
        print(f"  {name}: {spread(values)}")
    record(args.result, result_of(ratios, args, max_batch))


def result_of(ratios: dict[str, list[float]], args, max_batch: int) -> dict:
    """write_result's arguments: a row per ratio (or occupancy) with its mean, min and max over the rounds."""
    return {"title": "Local model: continuous batching against static batches", "summary": (
        f"Completion tokens/s on the embedded model: `generate` on {args.seeds} shipped seeds (random router, at most "
        f"{args.max_steps} steps) and the very requests it made replayed through the continuous-batching engine, each "
        f"against the same requests in static batches of {max_batch} through `model.generate`; {args.rounds} round(s), "
        "every figure of a round from the same minutes. Targets: graph / static ≥ 0.95, engine / static ≥ 2."),
        "columns": ["what", "mean", "min", "max"],
        "rows": [[name, round(sum(v) / len(v), 3), round(min(v), 3), round(max(v), 3)] for name, v in ratios.items()]}


if __name__ == "__main__":
    main()
