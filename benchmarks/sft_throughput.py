"""Fine-tuning throughput of `teamsrl_graph.sft.finetune` against a plain trl script, in one process.

Both train the same LoRA adapter on the same records with the same settings: the plain side is
written directly against trl/peft/transformers (model loaded with `from_pretrained`, a
prompt-completion dataset, `SFTTrainer`). Tokens/s = non-padding training tokens / seconds in the
training loop. The two sides alternate (plain first in even rounds, ours first in odd ones) and the
best round of each counts, which cancels most of the noise of a shared machine. Target: ratio >= 0.95.

    python benchmarks/sft_throughput.py --data runs/main/dataset.jsonl [--records 40] [--rounds 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from teamsrl_graph.sft import SFTRunConfig, finetune
from teamsrl_graph.sft import data as sft_data
from teamsrl_graph.training import base_folder


def plain_trl(conversations: list[dict], folder, config: SFTRunConfig, dtype) -> tuple[int, float]:
    """What a user would write with trl alone; returns (tokens, seconds in the training loop)."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    dataset = Dataset.from_list([{"prompt": c["messages"][:1], "completion": c["messages"][1:]} for c in conversations])
    lora = config.lora
    with tempfile.TemporaryDirectory() as tmp:
        args = SFTConfig(output_dir=tmp, num_train_epochs=config.epochs, learning_rate=config.learning_rate,
                         per_device_train_batch_size=config.batch_size, max_length=config.max_length,
                         activation_checkpointing=False, bf16=dtype == torch.bfloat16,
                         use_cpu=not torch.cuda.is_available(), seed=config.seed, logging_steps=1,
                         save_strategy="no", report_to="none")
        peft_config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                 target_modules=lora.target_modules, task_type="CAUSAL_LM")
        trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                             peft_config=peft_config)
        output = trainer.train()
        trainer.model.save_pretrained(f"{tmp}/adapter")
    tokens = max(h.get("num_tokens", 0) for h in trainer.state.log_history)
    return int(tokens), output.metrics["train_runtime"]


def ours(conversations: list[dict], config: SFTRunConfig) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        result = finetune(conversations, tmp, config)
    return result.train_tokens, result.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a dataset.jsonl written by `teamsrl generate`")
    parser.add_argument("--records", type=int, default=40, help="conversations to train on")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of both sides")
    parser.add_argument("--base", default="local")
    args = parser.parse_args()

    from teamsrl_graph.models import local

    conversations, _ = sft_data.load(args.data)
    conversations = conversations[: args.records]
    config = SFTRunConfig(base=args.base, epochs=args.epochs)
    folder, dtype = base_folder(args.base), local.default_dtype()
    print(f"{len(conversations)} conversations, {args.epochs} epoch(s), LoRA r={config.lora.r} on "
          f"{','.join(config.lora.target_modules)}, batch {config.batch_size}, {dtype}")
    rates = {"plain trl": [], "teamsrl": []}
    started = time.monotonic()
    for round_ in range(args.rounds):
        sides = [("plain trl", lambda: plain_trl(conversations, folder, config, dtype)),
                 ("teamsrl", lambda: ours(conversations, config))]
        for name, run in sides if round_ % 2 == 0 else sides[::-1]:
            wall = time.monotonic()
            tokens, seconds = run()
            rates[name].append(tokens / seconds)
            print(f"round {round_ + 1} {name:>9}: {tokens} tokens in {seconds:.1f} s = {tokens / seconds:.1f} tok/s "
                  f"({time.monotonic() - wall:.1f} s with loading and saving)", flush=True)
    best = {name: max(values) for name, values in rates.items()}
    print(f"best tok/s: plain trl {best['plain trl']:.1f}, teamsrl {best['teamsrl']:.1f}; "
          f"ratio teamsrl/plain = {best['teamsrl'] / best['plain trl']:.3f} (target >= 0.95); "
          f"benchmark wall time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
