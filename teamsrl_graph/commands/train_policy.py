"""`teamsrl train-policy`: train the learned router with TRPO on the reviewer's reward."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser):
    p.add_argument("--seeds", help="seed instructions to train on (default: the shipped seeds)")
    p.add_argument("--out", required=True, help="output folder: log.jsonl, reward.png, actions.png, checkpoint/, policy.*")
    p.add_argument("--updates", type=int, default=8, help="policy updates (each collects --envs episodes)")
    p.add_argument("--envs", type=int, default=16, help="episodes evolved side by side; their LLM calls are batched")
    p.add_argument("--max-steps", type=int, default=3, help="evolution depth limit of an episode")
    p.add_argument("--seed", type=int, default=0, help="seeds the network, the seed order and action sampling")
    p.add_argument("--budget", type=int, default=1500, help="hard cap on the training's LLM queries")
    p.add_argument("--query-cost", type=float, default=0.1, help="reward subtracted per LLM query")
    p.add_argument("--algorithm", choices=("trpo", "ppo"), default="trpo")
    p.add_argument("--max-kl", type=float, default=0.05, help="TRPO trust region (mean KL per update)")
    p.add_argument("--model", default="local", help="expert and reviewer model: local, local:/hf-folder or provider:model")
    p.add_argument("--base-url", help="OpenAI-compatible server URL for provider:model specs")


def run(args) -> int:
    from ..policy.train import PolicyTrainer, PolicyTrainingConfig

    config = PolicyTrainingConfig(
        out=args.out, seeds=args.seeds, updates=args.updates, envs=args.envs, max_steps=args.max_steps,
        seed=args.seed, budget=args.budget, query_cost=args.query_cost, algorithm=args.algorithm,
        max_kl=args.max_kl, model=args.model, base_url=args.base_url,
    )
    trainer = PolicyTrainer(config)
    trainer.train()
    last = trainer.history[-1] if trainer.history else {}
    print(f"{trainer.update} updates, {trainer.env.budget.queries} queries (budget {config.budget}); last update: "
          f"reward {last.get('mean_reward')}, acceptance {last.get('accept_rate')} -> {args.out}/policy.safetensors")
    return 0
