"""PITTrainer: learn the improvement goal from preference pairs, then train an improver to reach it.

1. Gap model: r(x, y_ref, y) on the MiniLM encoder, trained on the pairs' orderings
   (chosen over rejected > same over same > rejected over chosen); pairwise accuracy is reported on
   `heldout_fraction` of the pairs, which nothing else trains on.
2. Stage 0 (SFT, trl's `SFTTrainer` + LoRA): the improver learns (x, rejected) -> chosen.
3. Stage 1 (RL, trl's `GRPOTrainer`): the improver samples `num_generations` improvements of each
   rejected response; the reward is the gap model's r(x, rejected, y), normalised within the group.
4. Stage 2 (RL): the references are now the stage-1 improver's own rewrites of the rejected
   responses, so it learns to improve responses like those it writes, which is what iterative
   improvement at inference feeds it.

`save` writes OUT/gap/ (safetensors + json), OUT/improver/ (a LoRA adapter: loads with plain
`peft.PeftModel.from_pretrained`, and as the chat-model spec `local:OUT/improver`), OUT/run_card.json,
OUT/gap_loss.png, OUT/sft_loss.png and OUT/reward.png, moved into place at the end so an interrupted
run never leaves half of them. This module does not run the improvement loop; the graph's `improve`
node does.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

from ..common import plots, prompts
from ..common.checks import given
from ..common.errors import InputError
from ..common.files import move_into_place, write_json
from ..models import local
from ..models.batching import BatchGenerator
from ..models.local import chat_ids
from ..models.offline import complete_all
from ..sft.config import SFTRunConfig
from ..dataio.records import split_heldout
from ..common.training import base_folder, fingerprint, grpo_config, prompt_completion, sft_config, versions
from .config import PITConfig
from .gap import GapModel, train_gap
from .improver import gap_reward, improver_messages, rl_rows, sft_rows
from .preferences import Preference

log = logging.getLogger(__name__)


class PITTrainer:
    """Gap model, then the improver's SFT stage and two GRPO stages, on `preferences`."""

    def __init__(self, config: PITConfig | None = None, preferences: list[Preference] | None = None,
                 model=None, tokenizer=None, source: str | None = None):
        self.config = given(config, PITConfig)
        self.preferences = list(preferences or [])
        if len(self.preferences) < 2:
            raise InputError("PIT needs at least two preference pairs (one to train on, one held out)",
                             path=source, field="preferences")
        self.source = source
        self.template = prompts.load("improve", self.config.prompts)
        self.folder = base_folder(self.config.base)
        if model is None:
            model, tokenizer = local.load(self.folder)
        self.model, self.tokenizer = model, tokenizer
        self.train_pairs, self.heldout_pairs = split_heldout(self.preferences, self.config.heldout_fraction,
                                                             self.config.seed)
        self.gap: GapModel | None = None
        self.history: dict = {"gap": None, "sft": [], "rl": [[], []], "seconds": {}}

    def train_gap(self) -> GapModel:
        start = time.monotonic()
        self.gap, self.history["gap"] = train_gap(self.train_pairs, self.config.gap, heldout=self.heldout_pairs)
        self.history["seconds"]["gap"] = round(time.monotonic() - start, 2)
        held = self.history["gap"]["heldout"] or {}
        log.info("gap model: held-out pairwise accuracy %s on %s pairs", held.get("accuracy"), held.get("pairs"))
        return self.gap

    def train_sft(self):
        """Stage 0: (x, rejected) -> chosen with LoRA; afterwards `self.model` is the PEFT model."""
        import torch
        from trl import SFTTrainer

        c = self.config
        settings = SFTRunConfig(base=c.base, lora=c.lora, epochs=c.sft_epochs, learning_rate=c.sft_learning_rate,
                                batch_size=c.batch_size, max_length=c.max_length, seed=c.seed)
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="pit-sft-") as tmp:
            args = sft_config(settings, Path(tmp), bf16=self._bf16(), max_steps=c.sft_steps or -1)
            trainer = SFTTrainer(model=self.model, args=args,
                                 train_dataset=prompt_completion(sft_rows(self.train_pairs, self.template)),
                                 processing_class=self.tokenizer, peft_config=c.lora.peft_config())
            trainer.train()
        self.model = trainer.model
        self.history["sft"] = [{"step": h["step"], "loss": h["loss"]} for h in trainer.state.log_history if "loss" in h]
        self.history["sft_steps"] = trainer.state.global_step
        self.history["seconds"]["sft"] = round(time.monotonic() - start, 2)
        torch.manual_seed(c.seed)

    def train_rl(self, stage: int) -> list[dict]:
        """Stage 1 (references from the data) or 2 (references the improver wrote): GRPO on the gap reward."""
        from trl import GRPOTrainer

        c = self.config
        steps = c.rl_steps[stage - 1]
        if steps <= 0:
            return []
        if self.gap is None:
            raise RuntimeError("train the gap model first")
        references = None if stage == 1 else self.own_references()
        rows = rl_rows(self.train_pairs, self.template, references)
        from datasets import Dataset

        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"pit-rl{stage}-") as tmp:
            args = grpo_config(Path(tmp), steps=steps, learning_rate=c.rl_learning_rate, prompts_per_step=c.prompts_per_step,
                               num_generations=c.num_generations, max_completion_length=c.max_completion_length,
                               temperature=c.temperature, beta=c.kl_beta, bf16=self._bf16(), seed=c.seed + stage)
            trainer = GRPOTrainer(model=self.model, reward_funcs=gap_reward(self.gap), args=args,
                                  train_dataset=Dataset.from_list(rows), processing_class=self.tokenizer)
            trainer.train()
        self.model = trainer.model
        logged = [{"step": h["step"], "reward": h["reward"], "reward_std": h.get("reward_std"),
                   "completion_length": h.get("completions/mean_length")}
                  for h in trainer.state.log_history if "reward" in h]
        self.history["rl"][stage - 1] = logged
        self.history["seconds"][f"rl{stage}"] = round(time.monotonic() - start, 2)
        log.info("RL stage %d: mean gap reward %.3f -> %.3f", stage, logged[0]["reward"], logged[-1]["reward"])
        return logged

    def own_references(self) -> list[str]:
        """The current improver's greedy rewrite of each rejected response (stage 2's references);
        a rewrite that fails elimination rules 2-3 falls back to the rejected response."""
        from ..evolve.review import check_answer

        self.model.eval()
        generator = BatchGenerator(self.model, self.tokenizer, seed=self.config.seed)
        rows = [chat_ids(self.tokenizer, improver_messages(self.template, p.prompt, p.rejected)) for p in self.train_pairs]
        texts = complete_all(generator, rows, self.config.reference_tokens)
        self.model.train()
        return [t if not check_answer(t) else p.rejected for t, p in zip(texts, self.train_pairs)]

    def train(self) -> dict:
        """All four steps in order; returns the history (also written to the run card by `save`)."""
        self.train_gap()
        self.train_sft()
        for stage in (1, 2):
            self.train_rl(stage)
        return self.history

    def save(self, out: str | Path | None = None) -> Path:
        out = Path(out or self.config.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".pit-", dir=out))
        try:
            self.gap.save(tmp / "gap")
            self.model.save_pretrained(tmp / "improver")
            self._plots(tmp)
            write_json(tmp / "run_card.json", self.card())
            for name in ("gap", "improver", "run_card.json", "gap_loss.png", "sft_loss.png", "reward.png"):
                if (tmp / name).exists():
                    move_into_place(tmp / name, out / name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log.info("PIT improver saved to %s, gap model to %s", out / "improver", out / "gap")
        return out

    def card(self) -> dict:
        return {
            "base": str(self.folder),
            "data_source": self.source,
            "data_sha256": fingerprint([{"messages": [p.prompt, p.chosen, p.rejected]} for p in self.preferences]),
            "pairs": {"train": len(self.train_pairs), "heldout": len(self.heldout_pairs)},
            "train_ids": [p.id for p in self.train_pairs],
            "improve_template": self.template.sections,
            "config": self.config.to_dict(),
            "gap": self.history["gap"],
            "sft_steps": self.history.get("sft_steps", 0),
            "sft_losses": self.history["sft"],
            "rl": {"stage1": self.history["rl"][0], "stage2": self.history["rl"][1]},
            "seconds": self.history["seconds"],
            "versions": versions(),
        }

    def _plots(self, folder: Path):
        gap = self.history["gap"] or {}
        if gap.get("loss"):
            plots.loss_plot(folder / "gap_loss.png", gap["loss"], name="ordering loss", xlabel="epoch",
                            ylabel="loss", title="gap reward model")
        if self.history["sft"]:
            plots.loss_plot(folder / "sft_loss.png", [h["loss"] for h in self.history["sft"]], name="stage 0 loss",
                            x=[h["step"] for h in self.history["sft"]], xlabel="optimizer step",
                            ylabel="loss on the chosen responses", title="improver, stage 0 (SFT)")
        rl = self.history["rl"]
        if rl[0] or rl[1]:
            series = {f"stage {i + 1}": [h["reward"] for h in rl[i]] for i in range(2) if rl[i]}
            plots.line_plot(folder / "reward.png", series, xlabel="optimizer step (per stage)",
                            ylabel="mean gap reward of samples", title="improver, GRPO on the gap reward")

    def _bf16(self) -> bool:
        import torch

        return getattr(self.model, "dtype", None) == torch.bfloat16
