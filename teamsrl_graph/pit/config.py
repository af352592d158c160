"""Settings of one PIT run: the gap reward model, the improver's SFT stage and its two RL stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..common.checks import fraction, given, non_negative, positive, whole
from ..common.errors import InputError
from ..common.lora import LoraSettings


@dataclass
class GapSettings:  # the gap reward model (pit.gap)
    projection: int = 16  # each embedding is first mapped to this many dims (one shared linear layer)
    hidden: int = 256  # width of the head's hidden layer
    dropout: float = 0.1  # dropout after the hidden layer (training only)
    form: bool = True  # read the form statistics of both answers (pit.surface); False = their word counts only
    epochs: int = 50  # passes over the (cached) embeddings of the training pairs
    batch_size: int = 512  # pairs per optimizer step (a set this small or smaller is one full batch)
    learning_rate: float = 1e-3  # AdamW learning rate of the head
    weight_decay: float = 1e-2  # AdamW weight decay
    equal_weight: float = 1.0  # weight of the term pulling r(x, y, y) to 0 (so 0 means "no gap")
    seed: int = 0  # seeds the head's initial weights, dropout and the batch order

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PITConfig:
    output_dir: str = "pit-out"  # where gap/, improver/, run_card.json and the plots go
    base: str = "local"  # the improver's base model: "local" (embedded SmolLM2-135M-Instruct) or a model folder
    prompts: str | None = None  # prompt folder holding improve.txt; None = the shipped prompts
    heldout_fraction: float = 0.2  # preference pairs held out to report the gap model's pairwise accuracy
    seed: int = 0  # data split, adapter initialisation, sampling
    # the gap reward model r(x, y_ref, y)
    gap: GapSettings = field(default_factory=GapSettings)  # MiniLM head: width, epochs, rate, anchor weight
    # the improver: a LoRA adapter that rewrites (x, y_ref) into a better y
    lora: LoraSettings = field(default_factory=LoraSettings)  # the improver's adapter
    sft_epochs: float = 2.0  # stage 0: passes over (x, rejected -> chosen)
    sft_steps: int | None = None  # stage 0: exactly this many optimizer steps instead of sft_epochs passes
    sft_learning_rate: float = 1e-3  # stage 0 learning rate
    batch_size: int = 4  # stage 0 conversations per optimizer step
    max_length: int = 1024  # longest stage-0 conversation in tokens (longer ones are cut at the end)
    # stages 1 and 2: GRPO (trl) on the gap reward; stage 1 improves the data's rejected responses,
    # stage 2 improves references the stage-1 improver wrote itself
    rl_steps: tuple[int, int] = (8, 8)  # optimizer steps of stage 1 and stage 2 (0 skips a stage)
    rl_learning_rate: float = 5e-5  # GRPO learning rate of the adapter
    num_generations: int = 4  # completions sampled per prompt (GRPO's group)
    prompts_per_step: int = 2  # prompts per optimizer step (batch = prompts_per_step * num_generations)
    max_completion_length: int = 128  # new-token cap of a sampled improvement
    temperature: float = 0.9  # sampling temperature of the completions
    kl_beta: float = 0.0  # KL penalty to the stage-0 improver (0 = none, trl's default; no reference copy kept)
    reference_tokens: int = 128  # new-token cap when the stage-1 improver writes stage 2's references

    def __post_init__(self):
        """Settings no run can use are an InputError naming the field, before any model loads."""
        self.lora = given(self.lora, LoraSettings, "lora", prefix="lora.")  # a dict of adapter settings will do
        self.rl_steps = tuple(self.rl_steps)
        whole(self, "sft_steps", empty=True)
        whole(self, "batch_size", "max_length", "prompts_per_step", "max_completion_length", "reference_tokens")
        whole(self, "num_generations", least=2)
        positive(self, "sft_epochs", "sft_learning_rate", "rl_learning_rate", "temperature")
        non_negative(self, "kl_beta")
        fraction(self, "heldout_fraction")
        if len(self.rl_steps) != 2 or any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in self.rl_steps):
            raise InputError(f"must be two whole numbers of 0 or more, got {self.rl_steps!r}", field="rl_steps")

    def to_dict(self) -> dict:
        return asdict(self)
