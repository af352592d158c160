"""Fine-tuning throughput of `teamsrl_graph.sft.finetune` against a plain trl script, in one process.

Both sides do the same job on the same records with the same settings:
- the same split: `finetune`'s validation split is held out of training on both sides;
- the same loop: LoRA on the attention projections, the same epochs, batch size, learning rate and
  seed, a loss point every step, the validation loss after every epoch (counted in the time on both
  sides), no checkpoints; the adapter is saved after the loop (not counted on either side);
- the plain side is written directly against trl/peft/transformers (`from_pretrained`, a
  prompt-completion dataset, `SFTTrainer` with its default padded batches);
- ours is `finetune` as the pipeline calls it: early stopping on the validation loss (its patience
  raised to the number of epochs, so both sides run every epoch), the run card and loss plot, and
  padding-free batches (`SFTRunConfig.padding_free`). `--ours-padded` adds a third side, ours with
  padded batches, which isolates what the rest of our loop costs.

Tokens/s = the conversations' tokens (prompt and completion, no padding) / seconds in the training
loop (trl's `train_runtime`). The sides alternate (their order rotates every round) and the best
round of each counts, which cancels most of the noise of a shared machine. Target: ratio >= 1.0. The
figures also go to a result file for the docs (`--result`, empty to skip).

    python benchmarks/sft_throughput.py --data runs/demo/generate/dataset.jsonl [--records 40] [--rounds 2]
                                        [--result results/sft_throughput.json]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time

from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.common.training import base_folder
from teamsrl_graph.sft import SFTRunConfig, finetune
from teamsrl_graph.sft import data as sft_data
from teamsrl_graph.sft.trainer import split_validation


def plain_trl(conversations: list[dict], folder, config: SFTRunConfig, dtype) -> tuple[int, float]:
    """What a user would write with trl alone; returns (tokens, seconds in the training loop)."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    def dataset(rows):
        return Dataset.from_list([{"prompt": c["messages"][:-1], "completion": c["messages"][-1:]} for c in rows])

    train, validation = split_validation(conversations, config)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    lora = config.lora
    with tempfile.TemporaryDirectory() as tmp:
        args = SFTConfig(output_dir=tmp, num_train_epochs=config.epochs, learning_rate=config.learning_rate,
                         per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.batch_size,
                         max_length=config.max_length, activation_checkpointing=False,
                         bf16=dtype == torch.bfloat16, use_cpu=not torch.cuda.is_available(), seed=config.seed,
                         logging_steps=1, save_strategy="no", eval_strategy="epoch" if validation else "no",
                         report_to="none")
        peft_config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                 target_modules=lora.target_modules, task_type="CAUSAL_LM")
        trainer = SFTTrainer(model=model, args=args, train_dataset=dataset(train),
                             eval_dataset=dataset(validation) if validation else None, processing_class=tokenizer,
                             peft_config=peft_config)
        output = trainer.train()
        trainer.model.save_pretrained(f"{tmp}/adapter")
    tokens = max(h.get("num_tokens", 0) for h in trainer.state.log_history)  # trl counts unpadded tokens
    return int(tokens), output.metrics["train_runtime"]


def ours(conversations: list[dict], config: SFTRunConfig) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        result = finetune(conversations, tmp, config)
    return result.train_tokens, result.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a dataset.jsonl written by `teamsrl generate`")
    parser.add_argument("--records", type=int, default=40, help="conversations to use (a share is held out)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of all sides, in rotating order")
    parser.add_argument("--ours-padded", action="store_true", help="also time ours with padded batches")
    parser.add_argument("--base", default="local")
    result_option(parser, "results/sft_throughput.json")
    args = parser.parse_args()

    from teamsrl_graph.models import local

    conversations, _ = sft_data.load(args.data)
    conversations = conversations[: args.records]
    config = SFTRunConfig(base=args.base, epochs=args.epochs, patience=math.ceil(args.epochs))
    train, validation = split_validation(conversations, config)
    folder, dtype = base_folder(args.base), local.default_dtype()
    print(f"{len(train)} conversations trained on, {len(validation)} validated after every epoch (both sides), "
          f"{args.epochs} epoch(s), LoRA r={config.lora.r} on {','.join(config.lora.target_modules)}, "
          f"batch {config.batch_size}, {dtype}")
    sides = {"plain trl": lambda: plain_trl(conversations, folder, config, dtype),
             "teamsrl": lambda: ours(conversations, config)}
    if args.ours_padded:
        padded = SFTRunConfig(**{**config.__dict__, "padding_free": False})
        sides["teamsrl padded"] = lambda: ours(conversations, padded)
    rates = {name: [] for name in sides}
    started = time.monotonic()
    names = list(sides)
    for round_ in range(args.rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            wall = time.monotonic()
            tokens, seconds = sides[name]()
            rates[name].append(tokens / seconds)
            print(f"round {round_ + 1} {name:>14}: {tokens} tokens in {seconds:.1f} s = {tokens / seconds:.1f} tok/s "
                  f"({time.monotonic() - wall:.1f} s with loading and saving)", flush=True)
    best = {name: max(values) for name, values in rates.items()}
    print("best tok/s: " + ", ".join(f"{name} {value:.1f}" for name, value in best.items()))
    for name in names[1:]:
        print(f"ratio {name} / plain trl = {best[name] / best['plain trl']:.3f}"
              + (" (target >= 1.0)" if name == "teamsrl" else ""))
    print(f"benchmark wall time {time.monotonic() - started:.0f} s")
    record(args.result, result_of(rates, len(train), len(validation), args.epochs))


def result_of(rates: dict[str, list[float]], trained: int, validated: int, epochs: float) -> dict:
    """write_result's arguments: each side's best tokens/s and tokens/s per round, and the ratios of the best."""
    best = {name: max(values) for name, values in rates.items()}
    figures = {f"{name}, best (tokens/s)": round(value, 1) for name, value in best.items()}
    figures.update({f"ratio {name} / plain trl": round(best[name] / best["plain trl"], 3) for name in best if name != "plain trl"})
    figures.update({f"{name}, per round (tokens/s)": ", ".join(f"{v:.1f}" for v in values) for name, values in rates.items()})
    return {"title": "Fine-tuning throughput against a plain trl script", "summary": (
        f"The same job on both sides: {trained} conversations trained on, {validated} validated after every epoch, "
        f"{epochs:g} epoch(s), the same LoRA settings and seed; `finetune` as the pipeline calls it against a script "
        "written directly against trl/peft/transformers. Tokens/s = the conversations' tokens (no padding) / seconds "
        "in the training loop; the sides rotate every round and each side's best round counts. Target: ratio ≥ 1.0."),
        "figures": figures}


if __name__ == "__main__":
    main()
