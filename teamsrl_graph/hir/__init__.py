"""Hindsight Instruction Relabeling (HIR): verifiable tasks, relabeling (by exact answers or by
verifiable constraints), and a LoRA trainer.

`HIRTrainer` (which needs torch) is imported on first use, so the CLI starts fast.
"""

from .config import HIRConfig
from .constrained import Constrained, ConstrainedTask, relabel_constrained
from .relabel import Pair, relabel, relabel_records
from .tasks import TASKS, make_task

__all__ = ["Constrained", "ConstrainedTask", "HIRConfig", "HIRTrainer", "Pair", "relabel", "relabel_records", "TASKS", "make_task", "relabel_constrained"]


def __getattr__(name):
    if name == "HIRTrainer":
        from .trainer import HIRTrainer

        return HIRTrainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
