"""Settings of one evaluation of a fine-tuned adapter against its base model."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..common.checks import require, whole
from ..common.errors import InputError


@dataclass
class EvalConfig:
    base: str | None = None  # base model folder; None = the one named in the adapter's config
    judge: str = "local"  # reviewer-role model spec judging answer pairs ("local", "openai:..."); "" skips it
    prompts: str | None = None  # prompt folder holding judge_pair.txt; None = the shipped prompts
    judge_pairs: int = 16  # held-out instructions answered by both models and judged (twice each)
    max_new_tokens: int = 192  # answer length cap for both models
    batch_size: int = 32  # answers generated together, prompts of similar length in one batch (left-padded)
    max_length: int = 1024  # tokens per conversation when computing losses (longer ones are cut)
    ifbench: int = 0  # IFBench prompts answered by both models and verified (a fixed subset); -1 = all offline-verifiable; 0 skips it
    ifbench_tokens: int = 256  # answer length cap on IFBench prompts
    constrained: str | list | None = None  # held-out constrained prompts: a JSONL file or a list of {"prompt", "constraints"}; None skips them
    answer_tokens: int = 256  # answer length cap on the constrained prompts (the responder's default cap)
    cache_base: bool = True  # reuse the base model's IFBench and constrained answers from an earlier evaluation with the same settings
    cache_finetuned: bool = True  # ... and the adapter's (the same adapter files): a stopped or repeated evaluation answers once
    reference: bool = True  # loss of both models on the shipped reference answers (written by people)
    loss_dtype: str = "auto"  # "auto": the model's dtype; "float32": losses and audit exact where bf16 hides a small adapter

    def __post_init__(self):
        """Settings no evaluation can use are an InputError naming the field, before any model loads."""
        if self.loss_dtype not in ("auto", "float32"):
            raise InputError(f"must be 'auto' or 'float32', got {self.loss_dtype!r}", field="loss_dtype")
        whole(self, "max_new_tokens", "batch_size", "max_length", "ifbench_tokens", "answer_tokens")
        whole(self, "judge_pairs", least=0)
        require(self, ("ifbench",), lambda n: n >= -1, "a number of prompts, -1 (all) or 0 (none)", kinds=int)

    def to_dict(self) -> dict:
        out = asdict(self)
        if isinstance(self.constrained, list):  # the items themselves are in the answers file
            out["constrained"] = f"<{len(self.constrained)} items>"
        elif self.constrained is not None:
            out["constrained"] = str(self.constrained)
        return out
