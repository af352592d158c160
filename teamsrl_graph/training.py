"""The trl/transformers plumbing every trainer shares (SFT, HIR, PIT, evaluation): the base model
folder a spec names, TRL's prompt-completion dataset, the `SFTConfig`, a fingerprint of training
data and the library versions a run card records. It trains nothing itself."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import InputError
from .models import local


def base_folder(base: str) -> Path:
    """The model folder named by `base`: "local" for the embedded model, else a folder path."""
    if base == "local":
        return local.converted_path()
    folder = Path(base.removeprefix("local:")).expanduser()
    if not (folder / "config.json").is_file():
        raise InputError(f"{folder} is not a transformers model folder (no config.json)", field="base")
    return folder


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


def sft_config(config, output_dir: Path, bf16: bool, validating: bool = False):
    """The trl `SFTConfig` for `config`; checkpoints are not saved, the adapter is saved at the end."""
    import torch
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        max_length=config.max_length,
        activation_checkpointing=config.gradient_checkpointing,  # transformers' new name for it
        completion_only_loss=True,
        bf16=bf16,
        use_cpu=not torch.cuda.is_available(),
        seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy="no",
        eval_strategy="epoch" if validating else "no",  # the validation loss that early stopping reads
        per_device_eval_batch_size=config.batch_size,
        report_to="none",
        include_num_input_tokens_seen="non_padding",
    )


def versions() -> dict:
    import peft
    import torch
    import transformers
    import trl

    return {"trl": trl.__version__, "peft": peft.__version__, "transformers": transformers.__version__,
            "torch": torch.__version__}
