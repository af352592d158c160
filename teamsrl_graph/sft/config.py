"""Settings of one supervised fine-tuning run (LoRA on the graph's records, one step, no RLHF)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..common.checks import fraction, given, positive, require, whole
from ..common.errors import InputError
from ..common.lora import LoraSettings


@dataclass
class SFTRunConfig:
    base: str = "local"  # "local" (the embedded SmolLM2-135M-Instruct) or a transformers model folder
    lora: LoraSettings = field(default_factory=LoraSettings)  # adapter rank, alpha, dropout, target modules
    epochs: float = 3.0  # most passes over the data; early stopping usually ends sooner
    learning_rate: float = 2e-4  # LoRA's usual rate; 1e-3 made the embedded model memorise its records
    validation_fraction: float = 0.15  # share of the data not trained on, whose loss stops training early; 0 = off
    evaluations_per_epoch: int = 1  # validation losses measured per epoch (and one at the end); above 1, a short run can stop part way
    patience: int = 1  # evaluations without a better validation loss before training stops
    batch_size: int = 4  # conversations per optimizer step (per device)
    gradient_accumulation_steps: int = 1  # micro-batches summed into one optimizer step
    max_length: int = 1024  # tokens per conversation; longer ones are cut at the end
    padding_free: bool = True  # batches without padding (same loss, less work) when every conversation fits max_length
    gradient_checkpointing: bool = False  # saves memory, costs ~20% speed; off where memory allows
    seed: int = 0  # adapter initialisation and data order
    merge: bool = False  # also write the base model with the adapter merged in (`merged/`)
    logging_steps: int = 1  # optimizer steps between two points of the loss curve
    dp_epsilon: float = 0.0  # DP-SGD privacy target (per-conversation clipping + Gaussian noise); 0 = off
    dp_delta: float | None = None  # DP-SGD delta; None = 1 / (10 x conversations trained on)
    dp_clip: float = 1.0  # DP-SGD bound on each conversation's gradient norm
    report_to: str = "none"  # trl/transformers trackers to log to: "none", "tensorboard", "wandb", ... (comma-separated)

    def __post_init__(self):
        """Settings no fine-tune can run with are an InputError naming the field, before any model loads."""
        self.lora = given(self.lora, LoraSettings, "lora", prefix="lora.")  # a dict of adapter settings will do
        whole(self, "evaluations_per_epoch", "patience", "batch_size", "gradient_accumulation_steps", "max_length",
              "logging_steps")
        positive(self, "learning_rate", "epochs")
        fraction(self, "validation_fraction")
        positive(self, "dp_clip")  # checked with DP-SGD off too: a bad value is refused, not silently unused
        require(self, ("dp_delta",), lambda v: 0 < v < 1, "a number above 0 and below 1", empty=True)
        if not self.dp_epsilon:
            return
        positive(self, "dp_epsilon")
        if self.gradient_accumulation_steps != 1:
            raise InputError("DP-SGD takes one batch per optimizer step: set gradient_accumulation_steps to 1",
                             field="gradient_accumulation_steps")

    def to_dict(self) -> dict:
        return asdict(self)
