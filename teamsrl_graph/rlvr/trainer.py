"""GRPO with verifiable rewards: trl's `GRPOTrainer` on constrained instructions, rewarded by
`constraints.reward.constraint_reward` (the share of an answer's constraints the registry's strict
verifiers accept).

Each optimizer step samples `num_generations` answers to each of `prompts_per_step` instructions
(one generation batch a step: `steps x prompts_per_step x num_generations` answers in all) and moves
a fresh LoRA adapter towards the answers that meet more of their constraints than the rest of their
group. The instructions go in as the `rlvr` export's rows (`dataio.export`), so what `teamsrl export
--format rlvr` writes trains the same way. This module trains; saving and evaluating are the caller's.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from ..common.errors import InputError
from ..common.training import grpo_config
from ..constraints.reward import constraint_reward
from .config import RLVRConfig

log = logging.getLogger(__name__)


def train_rlvr(items: list[dict], config: RLVRConfig, model, tokenizer) -> tuple:
    """(the model with its trained adapter, one log entry per step, optimizer steps taken) for
    `items` ({"prompt", "constraints"}: instructions with registry constraints)."""
    import torch
    from trl import GRPOTrainer

    from ..dataio.export import to_dataset

    if config.num_generations < 2:
        raise InputError(f"GRPO compares a group of answers: needs at least 2, got {config.num_generations}",
                         field="num_generations")
    if not items:
        raise InputError("no instructions to train on", field="items")
    dataset = to_dataset([{"id": str(i), "instruction": item["prompt"], "constraints": item["constraints"]}
                          for i, item in enumerate(items)], "rlvr")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rlvr-") as tmp:
        args = grpo_config(Path(tmp), steps=config.steps, learning_rate=config.learning_rate,
                           prompts_per_step=config.prompts_per_step, num_generations=config.num_generations,
                           max_completion_length=config.max_completion_length, temperature=config.temperature,
                           beta=config.kl_beta, bf16=getattr(model, "dtype", None) == torch.bfloat16, seed=config.seed,
                           pass_size=config.pass_size)
        trainer = GRPOTrainer(model=model, reward_funcs=constraint_reward, args=args, train_dataset=dataset,
                              processing_class=tokenizer, peft_config=config.lora.peft_config())
        trainer.train()
    history = [{"step": h["step"], "reward": h["reward"], "reward_std": h.get("reward_std")}
               for h in trainer.state.log_history if "reward" in h]
    if history:
        log.info("RLVR: %d steps in %.0f s, mean reward %.3f -> %.3f", trainer.state.global_step,
                 time.monotonic() - started, history[0]["reward"], history[-1]["reward"])
    return trainer.model, history, trainer.state.global_step
