"""Evaluation of a fine-tuned adapter: held-out loss, judged win rate, membership-inference audit.

`evaluate` and `table` (which pull in the model stack) are imported on first use, so the CLI starts fast.
"""

from .config import EvalConfig
from .mia import auc, loss_attack, roc_curve

__all__ = ["EvalConfig", "evaluate", "table", "auc", "loss_attack", "roc_curve"]


def __getattr__(name):
    if name in ("evaluate", "table"):
        from . import evaluator

        return getattr(evaluator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
