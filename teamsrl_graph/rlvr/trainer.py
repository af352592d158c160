"""GRPO with verifiable rewards: trl's `GRPOTrainer` on constrained instructions, rewarded by
`constraints.reward.constraint_reward` (the share of an answer's constraints the registry's strict
verifiers accept).

Each optimizer step samples `num_generations` answers to each of `prompts_per_step` instructions
(one generation batch a step: `steps x prompts_per_step x num_generations` answers in all) and moves
a fresh LoRA adapter towards the answers that meet more of their constraints than the rest of their
group; with `skip_tied`, groups whose answers all scored alike are left out of the step (`ties`).
The instructions go in as the `rlvr` export's rows (`dataio.export`), so what `teamsrl export
--format rlvr` writes trains the same way. Given a checkpoint folder, a run saves trl's checkpoint
there every `save_every` steps and a later run with the same instructions and settings resumes from
the latest one. This module trains; saving and evaluating the adapter are the caller's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from pathlib import Path

from ..common.errors import InputError
from ..common.training import grpo_config
from ..constraints.reward import constraint_reward
from .config import RLVRConfig
from .ties import skipping_tied

log = logging.getLogger(__name__)


def train_rlvr(items: list[dict], config: RLVRConfig, model, tokenizer, checkpoints: Path | None = None) -> tuple:
    """(the model with its trained adapter, one log entry per step ({"step", "reward", "reward_std",
    "tied_groups"}), optimizer steps taken) for `items` ({"prompt", "constraints"}: instructions with
    registry constraints). With `checkpoints`, a folder, training resumes from the latest checkpoint
    there, and saves one every `config.save_every` steps; the folder's settings.json names the
    instructions and settings its checkpoints belong to, and a run with others is refused."""
    import torch
    from transformers.trainer_utils import get_last_checkpoint
    from trl import GRPOTrainer

    from ..dataio.export import to_dataset

    if not items:
        raise InputError("no instructions to train on", field="items")
    dataset = to_dataset([{"id": str(i), "instruction": item["prompt"], "constraints": item["constraints"]}
                          for i, item in enumerate(items)], "rlvr")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rlvr-") as tmp:
        folder = Path(checkpoints or tmp)
        resume = None
        if checkpoints is not None:
            claim(folder, items, config)
            resume = get_last_checkpoint(str(folder))
        args = grpo_config(folder, steps=config.steps, learning_rate=config.learning_rate,
                           prompts_per_step=config.prompts_per_step, num_generations=config.num_generations,
                           max_completion_length=config.max_completion_length, temperature=config.temperature,
                           beta=config.kl_beta, bf16=getattr(model, "dtype", None) == torch.bfloat16, seed=config.seed,
                           pass_size=config.pass_size, save_every=config.save_every if checkpoints is not None else 0)
        trainer_class = skipping_tied(GRPOTrainer) if config.skip_tied else GRPOTrainer
        trainer = trainer_class(model=model, reward_funcs=constraint_reward, args=args, train_dataset=dataset,
                                processing_class=tokenizer, peft_config=config.lora.peft_config())
        if resume:
            log.info("RLVR: resuming from %s", resume)
        trainer.train(resume_from_checkpoint=resume)
    # tied_groups: the share of the step's groups whose answers all scored alike, which move nothing
    history = [{"step": h["step"], "reward": h["reward"], "reward_std": h.get("reward_std"),
                "tied_groups": h.get("frac_reward_zero_std")} for h in trainer.state.log_history if "reward" in h]
    if history:
        log.info("RLVR: %d steps (this run: %.0f s), mean reward %.3f -> %.3f", trainer.state.global_step,
                 time.monotonic() - started, history[0]["reward"], history[-1]["reward"])
    return trainer.model, history, trainer.state.global_step


def claim(folder: Path, items: list[dict], config: RLVRConfig) -> None:
    """Make `folder` the checkpoint folder of this run, or check that it already is (`Parts`:
    its settings.json names the settings and a hash of the instructions)."""
    from ..common.parts import Parts

    settings = {k: v for k, v in json.loads(json.dumps(config.to_dict())).items() if k != "save_every"}
    Parts(folder, reuse=True, settings={**settings, "items": items_sha256(items)})


def items_sha256(items: list[dict]) -> str:
    """The sha256 of the instructions a run trains on: what a checkpoint folder and a run card name them by."""
    return hashlib.sha256(json.dumps(items, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
