"""Supervised fine-tuning (LoRA, one step) on the evolution graph's records."""

from .config import SFTRunConfig
from .trainer import FinetuneResult, finetune, trained_on

__all__ = ["SFTRunConfig", "FinetuneResult", "finetune", "trained_on"]
