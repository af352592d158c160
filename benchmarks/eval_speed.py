"""How fast the evaluation's fine-tuned model answers: through LoRA layers vs merged, batch 8, 16, 32.

The embedded model with a LoRA adapter of the fine-tune's shape (rank 8 on the attention
projections; random weights: speed does not depend on them) answers a fixed IFBench subset greedily
through the same engine `teamsrl eval` uses, three ways in one process:
- "lora, 8": the adapter applied by its LoRA layers, 8 answers at a time (the old evaluation);
- "merged, 8": the adapter merged into the weights (`evaluator.merged`);
- "merged, 16": merged, 16 at a time;
- "merged, 32": merged, 32 at a time (today's `EvalConfig.batch_size`; with --prompts below 32 it
  is one batch as wide as the prompts).
Prints characters/s per way and per round, the ratios to "lora, 8" (min-max over rounds), how many
answers the merged model left unchanged, and how far each way's logits are from the same model in
float32 (the CPU model runs in bf16, where both ways round: merging rounds the weights, the LoRA
layers round their outputs; greedy answers part where the top two tokens are close). The figures
also go to a result file for the docs (`--result`, empty to skip).

    python benchmarks/eval_speed.py [--prompts 32] [--tokens 128] [--rounds 2] [--result results/eval_speed.json]
"""

from __future__ import annotations

import argparse
import time

from teamsrl_graph.common.lora import LoraSettings
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.constraints import yardstick as ifbench
from teamsrl_graph.evaluation import judge as judging
from teamsrl_graph.evaluation.evaluator import merged
from teamsrl_graph.models import local
from teamsrl_graph.models.batching import BatchGenerator


def answer(model, tokenizer, asked, tokens: int, batch: int) -> tuple[list[str], float]:
    generator = BatchGenerator(model, tokenizer, max_batch=batch)
    started = time.monotonic()
    texts = judging.generate_answers(generator, asked, tokens, batch)
    return texts, time.monotonic() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=32, help="IFBench prompts (a fixed subset)")
    ap.add_argument("--tokens", type=int, default=128, help="answer length cap")
    ap.add_argument("--rounds", type=int, default=2)
    result_option(ap, "results/eval_speed.json")
    args = ap.parse_args()

    import torch
    from peft import get_peft_model

    torch.manual_seed(0)
    model, tokenizer = local.load(local.converted_path())
    config = LoraSettings().peft_config()
    config.init_lora_weights = False  # a non-zero adapter, as after training
    model = get_peft_model(model, config).eval()
    asked = [{"messages": [{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": ""}]}
             for r in ifbench.load_benchmark(args.prompts)]
    ways = {"lora, 8": (False, 8), "merged, 8": (True, 8), "merged, 16": (True, 16), "merged, 32": (True, 32)}
    speed, same = {name: [] for name in ways}, []
    for round_ in range(args.rounds):
        order = list(ways)[round_ % len(ways):] + list(ways)[:round_ % len(ways)]  # rotate who goes first
        texts = {}
        for name in order:
            fold, batch = ways[name]
            if fold:
                with merged(model):
                    texts[name], seconds = answer(model, tokenizer, asked, args.tokens, batch)
            else:
                texts[name], seconds = answer(model, tokenizer, asked, args.tokens, batch)
            speed[name].append(sum(map(len, texts[name])) / seconds)
        same.append(sum(a == b for a, b in zip(texts["lora, 8"], texts["merged, 8"])))
        print(f"round {round_ + 1}: " + ", ".join(f"{n} {speed[n][-1]:.1f} chars/s" for n in ways), flush=True)
    print(f"\n{args.prompts} IFBench prompts, {args.tokens} tokens, {args.rounds} rounds (min-max)")
    for name in ways:
        ratios = [s / b for s, b in zip(speed[name], speed["lora, 8"])]
        print(f"{name:<11} {min(speed[name]):7.1f}-{max(speed[name]):7.1f} chars/s   ÷ lora, 8: "
              f"{min(ratios):.2f}-{max(ratios):.2f}")
    print(f"answers the merged model left unchanged (batch 8): {min(same)}-{max(same)} of {args.prompts}")
    errors = fidelity(model, tokenizer, asked)
    print("mean |logit - float32 logit| over the prompts' tokens: " + ", ".join(f"{n} {e:.3f}" for n, e in errors.items()))
    record(args.result, result_of(speed, same, errors, args.prompts, args.tokens))


def span(values: list[float], digits: int) -> str:
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}"


def result_of(speed: dict[str, list[float]], same: list[int], errors: dict[str, float], prompts: int, tokens: int) -> dict:
    """write_result's arguments: chars/s and the ratio to "lora, 8" per way (min-max over rounds), as a
    table; answers left unchanged and the logit errors as figures."""
    ratios = {name: [s / b for s, b in zip(values, speed["lora, 8"])] for name, values in speed.items()}
    return {"title": "Evaluation answers: merged adapter against LoRA layers", "summary": (
        f"Characters/s of the fine-tuned model's greedy answers to {prompts} IFBench prompts ({tokens} tokens at "
        f"most) through the engine `teamsrl eval` uses, {len(same)} round(s) (min-max): the adapter applied by "
        "its LoRA layers against merged into the weights, at batch 8, 16 and 32; and the mean absolute logit "
        "error of each way against a float32 copy of the same model (bf16 rounds either way)."),
        "columns": ["way, batch", "chars/s", "÷ lora, 8"],
        "rows": [[name, span(speed[name], 1), span(ratios[name], 2)] for name in speed],
        "figures": {"answers the merged model left unchanged (batch 8)": f"{min(same)}-{max(same)} of {prompts}",
                    **{f"mean absolute logit error, {name}": round(e, 3) for name, e in errors.items()}}}


def fidelity(model, tokenizer, asked) -> dict[str, float]:
    """Mean absolute logit error of the LoRA and the merged way against a float32 copy of the model."""
    import copy

    import torch

    from teamsrl_graph.models.local import chat_ids

    exact = copy.deepcopy(model).float()
    errors = {"lora": [], "merged": []}
    with torch.no_grad():
        for conversation in asked:
            ids = torch.tensor([chat_ids(tokenizer, conversation["messages"][:-1], generation_prompt=True)])
            truth = exact(ids).logits
            errors["lora"].append(float((model(ids).logits.float() - truth).abs().mean()))
            with merged(model):
                errors["merged"].append(float((model(ids).logits.float() - truth).abs().mean()))
            with exact.disable_adapter():
                errors.setdefault("adapter's own effect", []).append(float((exact(ids).logits - truth).abs().mean()))
    return {name: sum(v) / len(v) for name, v in errors.items()}


if __name__ == "__main__":
    main()
