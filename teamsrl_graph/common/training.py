"""The trl/transformers plumbing every trainer shares (SFT, HIR, PIT, RLVR, evaluation): the base model
folder a spec names and the hub id an adapter records for it, TRL's prompt-completion dataset, the
`SFTConfig` and `GRPOConfig`, a fingerprint of training data and the library versions a run card records. It trains
nothing itself.

An adapter names its base model by hub id (`HuggingFaceTB/SmolLM2-135M-Instruct` for the embedded
model), so that it loads on any machine; `base_folder` turns such an id back into this machine's
copy (`LOCAL_COPIES`, else the Hugging Face cache, never the network).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..models.local import HUB_PATTERN, LOCAL_COPIES, base_folder  # noqa: F401 (re-exported for the trainers)

# most completions in one forward and backward pass of a GRPO step: a pass's memory grows with its
# completions (their logits over the whole vocabulary), and smaller passes were no slower
# (benchmarks/grpo_passes.py, results/grpo_passes.json)
GRPO_PASS_SIZE = 8


def base_id(folder: Path) -> str:
    """What an adapter records as its base model: the hub id of a `LOCAL_COPIES` folder, the hub id in
    the folder's own config.json (`_name_or_path`, written by older transformers), else the folder."""
    folder = Path(folder).resolve()
    for repo_id, where in LOCAL_COPIES.items():
        if Path(where()).resolve() == folder:
            return repo_id
    try:
        named = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("_name_or_path")
    except (OSError, ValueError):
        named = None
    if isinstance(named, str) and HUB_PATTERN.fullmatch(named) and not Path(named).exists():
        return named
    return str(folder)


def name_base(model, folder: Path) -> str:
    """Name `model` (loaded from `folder`) by `base_id`, so that adapters and cards made from it do too."""
    model.name_or_path = model.config.name_or_path = base_id(folder)
    return model.name_or_path


def prompt_completion(conversations: list[dict]):
    """TRL's conversational prompt-completion dataset: the last turn is what the loss is computed on."""
    from datasets import Dataset

    return Dataset.from_list([{"prompt": c["messages"][:-1], "completion": c["messages"][-1:]} for c in conversations])


def fingerprint(conversations: list[dict]) -> str:
    """A fingerprint of exactly what was trained on (independent of the input's form)."""
    digest = hashlib.sha256()
    for c in conversations:
        digest.update(json.dumps(c["messages"], sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


def evaluation(config, validating: bool) -> dict:
    """When the trainer measures the validation loss: after every epoch, or `evaluations_per_epoch`
    times an epoch at equal numbers of steps (a share of all steps; the last step is always
    evaluated); none without a validation split. Configs without the field (HIR's, PIT's) evaluate
    once an epoch; `SFTRunConfig` has already refused a count below 1."""
    if not validating:
        return {"eval_strategy": "no"}
    evaluations = getattr(config, "evaluations_per_epoch", 1) * config.epochs
    if evaluations <= 1:
        return {"eval_strategy": "epoch"}
    return {"eval_strategy": "steps", "eval_steps": 1 / evaluations}


def sft_config(config, output_dir: Path, bf16: bool, validating: bool = False, padding_free: bool = False,
               max_grad_norm: float = 1.0, max_steps: int = -1):
    """The trl `SFTConfig` for `config`; checkpoints are not saved, the adapter is saved at the end.
    `max_steps` > 0 trains exactly that many optimizer steps instead of `config.epochs` passes.

    `padding_free` joins each batch's conversations into one row (positions restart at every
    conversation, so attention stays within it) instead of padding them to the longest; it does not
    cut conversations at `max_length`, so only ask for it when every conversation fits."""
    import torch
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,
        max_steps=max_steps,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        max_length=None if padding_free else config.max_length,
        padding_free=padding_free,
        activation_checkpointing=config.gradient_checkpointing,  # transformers' new name for it
        completion_only_loss=True,
        bf16=bf16,
        use_cpu=not torch.cuda.is_available(),
        seed=config.seed,
        logging_steps=config.logging_steps,
        max_grad_norm=max_grad_norm,  # 0 = no clipping of the whole gradient
        save_strategy="no",
        **evaluation(config, validating),  # the validation losses that early stopping reads
        per_device_eval_batch_size=config.batch_size,
        report_to=[t.strip() for t in getattr(config, "report_to", "none").split(",") if t.strip()] or "none",
        include_num_input_tokens_seen="all" if padding_free else "non_padding",  # the pad token may be a real one
    )


def grpo_passes(completions: int, most: int) -> tuple[int, int]:
    """(completions per pass, passes): the fewest equal passes of at most `most` completions each."""
    passes = next(n for n in range(-(-completions // most), completions + 1) if completions % n == 0)
    return completions // passes, passes


def grpo_config(output_dir: Path, *, steps: int, learning_rate: float, prompts_per_step: int, num_generations: int,
                max_completion_length: int, temperature: float, beta: float, bf16: bool, seed: int,
                pass_size: int = GRPO_PASS_SIZE, save_every: int = 0):
    """The trl `GRPOConfig` of one RL stage: `steps` optimizer steps, each on `prompts_per_step`
    prompts x `num_generations` sampled completions (one generation batch a step, its gradient summed
    over passes of at most `pass_size` completions), logged every step. With `save_every`, a
    checkpoint to resume from (adapter, optimizer, scheduler, random states) goes under `output_dir`
    every that many steps, only the latest kept; 0 saves none (the caller saves the adapter)."""
    import torch
    from trl import GRPOConfig

    per_pass, passes = grpo_passes(prompts_per_step * num_generations, pass_size)
    return GRPOConfig(
        output_dir=str(output_dir), max_steps=steps, learning_rate=learning_rate,
        per_device_train_batch_size=per_pass, gradient_accumulation_steps=passes, num_generations=num_generations,
        max_completion_length=max_completion_length, temperature=temperature, beta=beta, bf16=bf16,
        use_cpu=not torch.cuda.is_available(), seed=seed, logging_steps=1, report_to="none",
        save_strategy="steps" if save_every else "no", save_steps=save_every or 500, save_total_limit=1,
        activation_checkpointing=False,
    )


def versions() -> dict:
    import peft
    import torch
    import transformers
    import trl

    return {"trl": trl.__version__, "peft": peft.__version__, "transformers": transformers.__version__,
            "torch": torch.__version__}
