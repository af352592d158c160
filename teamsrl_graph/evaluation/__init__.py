"""Evaluation of a fine-tuned adapter: held-out loss, judged win rate, membership-inference audit."""

from .config import EvalConfig
from .evaluator import evaluate, table
from .mia import auc, loss_attack, roc_curve

__all__ = ["EvalConfig", "evaluate", "table", "auc", "loss_attack", "roc_curve"]
