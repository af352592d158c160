"""LoRA settings shared by every trainer (SFT, HIR, PIT, RLVR): one dataclass, one way to build a
PeftConfig, and `save_adapter`, which puts a trained adapter into place whole or not at all."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from .checks import fraction, positive, whole
from .errors import InputError

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")  # a Llama block's attention projections
MODULES = {"attention": ATTENTION, "all-linear": ATTENTION + ("gate_proj", "up_proj", "down_proj")}  # named sets


@dataclass
class LoraSettings:
    r: int = 8  # adapter rank
    alpha: int = 16  # scaling numerator (effective scale alpha / r)
    dropout: float = 0.05  # dropout on the adapter input
    # the layers trained: Llama attention (every linear layer did worse on validation, results/finetune_adapter.json)
    target_modules: list[str] = field(default_factory=lambda: list(ATTENTION))  # or one comma-separated string

    def __post_init__(self):
        """Settings peft cannot build an adapter from are an InputError naming the field."""
        whole(self, "r", prefix="lora.")
        positive(self, "alpha", prefix="lora.")
        fraction(self, "dropout", prefix="lora.")
        if isinstance(self.target_modules, str):  # "q_proj,v_proj", as on the command line
            self.target_modules = [name.strip() for name in self.target_modules.split(",") if name.strip()]
        if not isinstance(self.target_modules, (list, tuple)) or not all(isinstance(n, str) for n in self.target_modules):
            raise InputError(f"must be a list of layer names, got {self.target_modules!r}", field="lora.target_modules")
        if not self.target_modules:
            raise InputError("names no layer to train", field="lora.target_modules")

    def peft_config(self):
        from peft import LoraConfig

        return LoraConfig(r=self.r, lora_alpha=self.alpha, lora_dropout=self.dropout,
                          target_modules=list(self.target_modules), task_type="CAUSAL_LM")

    def to_dict(self) -> dict:
        return asdict(self)


def save_adapter(model, folder: str | Path) -> Path:
    """Save `model`'s LoRA adapter (safetensors) as `folder`, written beside it under a temporary
    name and moved into place when complete (replacing an older one)."""
    import shutil
    import tempfile

    from .files import move_into_place

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        model.save_pretrained(tmp / "adapter", safe_serialization=True)
        move_into_place(tmp / "adapter", folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
