"""Supervised fine-tuning (LoRA, one step) on the evolution graph's records."""

from .config import SFTRunConfig
from .data import split_heldout
from .trainer import FinetuneResult, finetune

__all__ = ["SFTRunConfig", "FinetuneResult", "finetune", "split_heldout"]
