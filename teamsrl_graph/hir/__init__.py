"""Hindsight Instruction Relabeling (HIR): verifiable tasks, relabeling (by exact answers or by
verifiable constraints), and a LoRA trainer.

Everything here is imported on first use (`HIRTrainer` needs torch; the constrained relabeling loads
the constraint registry), so the CLI starts fast.
"""

_EXPORTS = {
    "HIRConfig": "config", "HIRTrainer": "trainer", "rejection_sampling": "config",
    "Constrained": "constrained", "ConstrainedTask": "constrained", "relabel_constrained": "constrained",
    "from_items": "constrained",
    "Pair": "relabel", "relabel": "relabel", "relabel_records": "relabel",
    "TASKS": "tasks", "make_task": "tasks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
