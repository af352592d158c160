"""Supervised fine-tuning (LoRA, one step) on the evolution graph's records.

`finetune` and the rest of the trainer (which pull in torch, transformers, peft and trl) are imported
on first use, so reading `SFTRunConfig` (the CLI's --help does) stays light.
"""

from .config import SFTRunConfig

__all__ = ["SFTRunConfig", "FinetuneResult", "finetune", "trained_on"]


def __getattr__(name):
    if name in ("FinetuneResult", "finetune", "trained_on"):
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
