"""Settings of one RLVR run: the optimizer steps, the groups of sampled answers and the adapter."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..common.checks import given, non_negative, positive, whole
from ..common.lora import LoraSettings
from ..common.training import GRPO_PASS_SIZE


@dataclass
class RLVRConfig:
    base: str = "local"  # "local" (the embedded SmolLM2-135M-Instruct) or a transformers model folder
    steps: int = 16  # optimizer steps (each samples one generation batch)
    prompts_per_step: int = 4  # instructions per optimizer step
    num_generations: int = 4  # answers sampled per instruction (GRPO's group; at least 2)
    learning_rate: float = 1e-3  # AdamW learning rate of the adapter
    max_completion_length: int = 160  # new-token cap of a sampled answer
    temperature: float = 0.7  # sampling temperature of the answers
    pass_size: int = GRPO_PASS_SIZE  # most answers in one forward/backward pass (a step's gradient sums its passes)
    save_every: int = 4  # with a checkpoint folder: steps between checkpoints an interrupted run resumes from
    kl_beta: float = 0.0  # KL penalty to the base model (0 = none, trl's default; no reference copy kept)
    skip_tied: bool = False  # leave groups whose answers all scored alike out of the step (rlvr/ties.py)
    seed: int = 0  # seeds the prompt order, the sampling and the adapter's initial weights
    lora: LoraSettings = field(default_factory=LoraSettings)  # the adapter

    def __post_init__(self):
        """Settings GRPO cannot run with are an InputError naming the field, before any model loads."""
        self.lora = given(self.lora, LoraSettings, "lora", prefix="lora.")  # a dict of adapter settings will do
        whole(self, "num_generations", least=2)  # GRPO compares the answers of a group
        whole(self, "steps", "prompts_per_step", "max_completion_length", "pass_size")
        positive(self, "learning_rate", "temperature")
        non_negative(self, "kl_beta")

    def to_dict(self) -> dict:
        return asdict(self)
