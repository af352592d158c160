"""Hindsight Instruction Relabeling (HIR): verifiable tasks, relabeling, and a LoRA trainer.

`HIRTrainer` (which needs torch) is imported on first use, so the CLI starts fast.
"""

from .config import HIRConfig
from .relabel import Pair, relabel, relabel_records
from .tasks import TASKS, make_task

__all__ = ["HIRConfig", "HIRTrainer", "Pair", "relabel", "relabel_records", "TASKS", "make_task"]


def __getattr__(name):
    if name == "HIRTrainer":
        from .trainer import HIRTrainer

        return HIRTrainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
