"""PIT (implicit self-improvement): a gap reward model learned from preference pairs, and an
improver trained to maximise it, used by the graph's `improve` node.

- `preferences`: TRL's preference format (prompt, chosen, rejected), read, checked and written;
- `collect`: preference pairs made by the graph's own responder and reviewer;
- `gap`: the gap reward model r(x, y_ref, y) on the MiniLM encoder;
- `improver`: the improver's prompts, training rows and RL reward;
- `trainer`: `PITTrainer`, gap model -> SFT stage -> two GRPO stages (`PITConfig` in `config`).

Modules that need torch or trl load on first use, so the CLI starts fast.
"""

_LAZY = {
    "PITConfig": "config", "PITTrainer": "trainer", "GapModel": "gap", "GapSettings": "gap", "train_gap": "gap",
    "Preference": "preferences", "read_preferences": "preferences", "write_preferences": "preferences",
    "collect_preferences": "collect",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
