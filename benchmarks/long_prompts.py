"""Batches capped by padded prompt tokens against batches of a fixed row count, on long prompts.

The evaluation answers its prompts longest first, `EvalConfig.batch_size` (32) rows at a time. IFBench
has one prompt of about 2,600 tokens and one of about 750 among prompts of 100-260: in a batch of
32 rows every row is padded to the longest, so that one batch pays for 32 x 2,600 prompt tokens in
prefill and attends over them at every decode step. `models.offline.batches` also caps a batch's
rows x longest prompt (`--max-tokens`, `MAX_BATCH_TOKENS` by default), so a long prompt goes in
a batch of few rows.

The embedded model answers the `--prompts` longest IFBench prompts greedily, both ways in one
process, in alternating order over `--rounds`; prints completion tokens/s per way and round, the
ratio capped ÷ fixed (min-max over rounds), the padded prompt tokens each way prefills, and how many
answers the two ways share word for word (bf16 matrix products round by shape, so greedy answers can
part where the top two tokens are close). The figures also go to a result file (`--result`, empty
to skip).

    python benchmarks/long_prompts.py [--prompts 32] [--tokens 256] [--rounds 1] [--result results/long_prompts.json]
"""

from __future__ import annotations

import argparse
import time

from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.constraints import yardstick as ifbench
from teamsrl_graph.evaluation.config import EvalConfig
from teamsrl_graph.models import local
from teamsrl_graph.models.batching import BatchGenerator
from teamsrl_graph.models.offline import MAX_BATCH_TOKENS, batches, complete_all

UNCAPPED = 10 ** 9  # a token cap no batch reaches: rows alone decide, as before the cap


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=32, help="the longest IFBench prompts answered (default 32)")
    ap.add_argument("--tokens", type=int, default=256, help="answer length cap (default 256, the evaluation's for IFBench)")
    ap.add_argument("--max-tokens", type=int, default=MAX_BATCH_TOKENS, help="padded prompt tokens per batch, capped way")
    ap.add_argument("--rounds", type=int, default=1)
    result_option(ap, "results/long_prompts.json")
    args = ap.parse_args()

    model, tokenizer = local.load(local.converted_path())
    model.eval()
    rows = EvalConfig().batch_size
    prompts = [local.chat_ids(tokenizer, [{"role": "user", "content": r["prompt"]}], generation_prompt=True)
               for r in ifbench.load_benchmark(None)]
    prompts = sorted(prompts, key=len, reverse=True)[:args.prompts]  # the evaluation's order: longest first
    ways = {"fixed rows": UNCAPPED, "rows and tokens capped": args.max_tokens}
    padded = {name: sum(len(span) * len(prompts[span.start]) for span in batches([len(p) for p in prompts], rows, cap))
              for name, cap in ways.items()}
    speed, texts = {name: [] for name in ways}, {}
    for round_ in range(args.rounds):
        for name in (list(ways) if round_ % 2 == 0 else list(reversed(ways))):
            generator = BatchGenerator(model, tokenizer, max_batch=rows)
            started = time.monotonic()
            texts[name] = complete_all(generator, prompts, args.tokens, 0.0, rows, desc=name, max_tokens=ways[name])
            seconds = time.monotonic() - started
            generated = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts[name])
            speed[name].append(generated / seconds)
            print(f"round {round_ + 1}, {name}: {generated} tokens in {seconds:.1f} s, {speed[name][-1]:.1f} tokens/s",
                  flush=True)
    same = sum(a == b for a, b in zip(*texts.values()))
    ratios = [c / f for c, f in zip(speed["rows and tokens capped"], speed["fixed rows"])]
    print(f"\n{len(prompts)} longest IFBench prompts ({len(prompts[0])}-{len(prompts[-1])} tokens), {args.tokens} "
          f"new tokens, {rows} rows, cap {args.max_tokens} padded prompt tokens")
    for name in ways:
        print(f"{name:<24} {min(speed[name]):7.1f}-{max(speed[name]):7.1f} tokens/s, {padded[name]} padded prompt tokens")
    print(f"capped ÷ fixed: {min(ratios):.2f}-{max(ratios):.2f}; answers the same word for word: {same} of {len(prompts)}")
    record(args.result, result_of(speed, padded, same, prompts, args))


def result_of(speed: dict[str, list[float]], padded: dict[str, int], same: int, prompts: list, args) -> dict:
    """write_result's arguments: tokens/s and padded prompt tokens per way, the capped ÷ fixed ratio."""
    ratios = [c / f for c, f in zip(speed["rows and tokens capped"], speed["fixed rows"])]
    return {"title": "Evaluation batches capped by padded prompt tokens", "summary": (
        f"Completion tokens/s of the embedded model's greedy answers to the {len(prompts)} longest IFBench prompts "
        f"({len(prompts[0])} to {len(prompts[-1])} tokens), {args.tokens} new tokens at most, "
        f"{EvalConfig().batch_size} rows a batch, {args.rounds} round(s) in alternating order: batches of fixed rows "
        f"(before) against batches also capped at {args.max_tokens} padded prompt tokens (rows x longest prompt)."),
        "columns": ["way", "completion tokens/s", "padded prompt tokens"],
        "rows": [[name, f"{min(v):.1f}-{max(v):.1f}", padded[name]] for name, v in speed.items()],
        "figures": {"capped ÷ fixed (min-max)": f"{min(ratios):.2f}-{max(ratios):.2f}",
                    "answers the same word for word": f"{same} of {len(prompts)}"}}


if __name__ == "__main__":
    main()
