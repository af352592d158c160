"""Settings of one HIR run: the task, the online sampling, the offline loss and the LoRA adapter;
`rejection_sampling` turns them into rejection-sampling fine-tuning with the same budget."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ..common.checks import fraction, given, non_negative, positive, whole
from ..common.lora import LoraSettings
from .relabel import WRONG_INSTRUCTION


@dataclass
class HIRConfig:
    output_dir: str = "hir-out"  # where the adapter, log.jsonl and accuracy.png go
    # task (ignored when training on graph records)
    task: str = "object_counting"  # word_sorting, object_counting or arithmetic
    difficulty: int = 2  # words to sort / phrases to count / terms to add minus one
    eval_instances: int = 64  # held-out instances scored (greedy) before the first and after every round
    answer_tokens: int = 160  # new-token cap of an answer to a constrained instruction
    heldout_fraction: float = 0.2  # share of constrained records held out for scoring (training on records)
    # online sampling
    rounds: int = 3  # sampling <-> training iterations
    prompts_per_round: int = 32  # fresh task instances sampled each round
    samples: int = 4  # outputs sampled per instance (k)
    temperature: float = 0.7  # sampling temperature
    generation_batch: int = 32  # sequences per generate call (left padded)
    # offline training
    steps_per_round: int = 16  # optimizer steps after each sampling round (a fixed budget)
    batch_size: int = 8  # pairs per optimizer step
    learning_rate: float = 1e-3  # AdamW learning rate of the adapter
    label_smoothing: float = 0.1  # label smoothing of the token cross-entropy
    hindsight_weight: float = 1.0  # weight of the cross-entropy of wrong outputs under their hindsight instruction
    contrastive_weight: float = 1.0  # weight of -log p(y|pos) / (p(y|pos) + p(y|neg))
    entropy_weight: float = 0.01  # weight of the entropy bonus (subtracted from the loss)
    balance: bool = False  # each batch holds as many relabeled pairs as pairs of their own instruction
    subspan: bool = False  # also train the correct start of wrong outputs (sub-span relabeling)
    keep_wrong: bool = True  # relabel wrong outputs; False drops them (rejection-sampling fine-tuning)
    wrong_instruction: str = WRONG_INSTRUCTION  # hindsight instruction of a wrong output, {instruction} inside
    max_length: int = 512  # longest training sequence in tokens (longer pairs are skipped)
    seed: int = 0  # seeds the task instances, the sampling and the batch order
    lora: LoraSettings = field(default_factory=LoraSettings)  # the adapter

    def __post_init__(self):
        """Settings no run can use are an InputError naming the field, before any model loads."""
        self.lora = given(self.lora, LoraSettings, "lora", prefix="lora.")  # a dict of adapter settings will do
        whole(self, "difficulty", "eval_instances", "answer_tokens", "rounds", "prompts_per_round", "samples",
              "generation_batch", "steps_per_round", "batch_size", "max_length")
        positive(self, "learning_rate", "temperature")
        fraction(self, "heldout_fraction", "label_smoothing")
        non_negative(self, "hindsight_weight", "contrastive_weight", "entropy_weight")

    def to_dict(self) -> dict:
        return asdict(self)


def rejection_sampling(config: HIRConfig) -> HIRConfig:
    """`config` as rejection-sampling fine-tuning: only the outputs that pass, plain cross-entropy
    (no relabeled outputs, label smoothing, contrastive or entropy term); sampling, batches, steps
    and adapter stay as they are, so the two differ only in what they train on."""
    return replace(config, keep_wrong=False, label_smoothing=0.0, contrastive_weight=0.0, entropy_weight=0.0)
