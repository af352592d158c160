"""`teamsrl train-policy`: train the learned router with TRPO on the reviewer's gain,
verified answers and the queries they took (`policy.reward`).

Every option is a field of `PolicyTrainingConfig`, with its default and description from there."""

from __future__ import annotations

import argparse

from .options import add_fields, as_options, field_values


def add_arguments(p: argparse.ArgumentParser):
    from ..policy.config import PolicyTrainingConfig

    add_fields(p, PolicyTrainingConfig)


def run(args) -> int:
    from ..common.errors import InputError
    from ..policy.config import PolicyTrainingConfig
    from ..policy.train import PolicyTrainer

    try:
        config = PolicyTrainingConfig(**field_values(args, PolicyTrainingConfig))
    except InputError as error:
        raise as_options(error) from None
    trainer = PolicyTrainer(config)
    trainer.train()
    last = trainer.history[-1] if trainer.history else {}
    print(f"{trainer.update} updates, {trainer.env.budget.queries} queries (budget {config.budget}); last update: "
          f"reward {last.get('mean_reward')}, acceptance {last.get('accept_rate')} -> {args.out}/policy.safetensors")
    return 0
