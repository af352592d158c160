"""RL with verifiable rewards (RLVR): GRPO on constrained instructions with the constraint
registry's verifiers as the reward, a LoRA adapter on the base model.

`RLVRConfig` (in `config`) holds the settings, `train_rlvr` (in `trainer`) trains. Both load on
first use (the trainer needs torch and trl), so the CLI starts fast.
"""

_EXPORTS = {"RLVRConfig": "config", "train_rlvr": "trainer"}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
