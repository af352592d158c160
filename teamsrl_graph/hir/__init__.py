"""Hindsight Instruction Relabeling (HIR): verifiable tasks, relabeling, and a LoRA trainer."""

from .config import HIRConfig
from .relabel import Pair, relabel, relabel_records
from .tasks import TASKS, make_task
from .trainer import HIRTrainer

__all__ = ["HIRConfig", "HIRTrainer", "Pair", "relabel", "relabel_records", "TASKS", "make_task"]
