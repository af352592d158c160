"""LoRA settings shared by every trainer (SFT, HIR, PIT): one dataclass, one way to build a PeftConfig."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class LoraSettings:
    r: int = 8  # adapter rank
    alpha: int = 16  # scaling numerator (effective scale alpha / r)
    dropout: float = 0.05  # dropout on the adapter input
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])  # Llama attention

    def peft_config(self):
        from peft import LoraConfig

        return LoraConfig(r=self.r, lora_alpha=self.alpha, lora_dropout=self.dropout,
                          target_modules=list(self.target_modules), task_type="CAUSAL_LM")

    def to_dict(self) -> dict:
        return asdict(self)
