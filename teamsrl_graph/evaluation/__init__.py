"""Evaluation of a fine-tuned adapter: held-out loss, judged win rate, membership-inference audit,
paired comparisons of base and fine-tuned on constrained prompts and IFBench.

`evaluate`, `table` and `headline` (which pull in the model stack) are imported on first use, so the
CLI starts fast.
"""

from .config import EvalConfig
from .mia import auc, loss_attack, roc_curve
from .paired import paired

__all__ = ["EvalConfig", "evaluate", "table", "headline", "auc", "loss_attack", "paired", "roc_curve"]


def __getattr__(name):
    if name in ("evaluate", "table", "headline"):
        from . import evaluator

        return getattr(evaluator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
