"""`teamsrl generate`: evolve seed instructions through the graph, answer them, write the dataset.

`add_arguments` and `settings` also serve `teamsrl pipeline`, whose first stage this is.
"""

from __future__ import annotations

import argparse
import json
import os


def add_arguments(p: argparse.ArgumentParser, *, out: str | None = None, budget: int | None = None,
                  router: str = "fixed", max_steps: int = 4):
    """The generation options; the keyword arguments are the defaults (out=None makes --out required)."""
    p.add_argument("--seeds", help="JSONL ('instruction', optional 'input'), Alpaca JSON array, or text; default: shipped seeds")
    p.add_argument("--out", required=out is None, default=out, help="output folder")
    p.add_argument("--budget", type=int, default=budget, help="hard cap on LLM queries for the whole run")
    p.add_argument("--token-budget", type=int, help="optional hard cap on prompt + completion tokens")
    p.add_argument("--router", default=router, help="fixed (TeaMs-RL schedule) | random (WizardLM) | policy (the learned router)")
    p.add_argument("--policy", help="policy file for --router policy")
    p.add_argument("--model", default="local", help="expert model: local, local:/hf-folder or provider:model")
    p.add_argument("--reviewer-model", help="reviewer model spec (default: --model)")
    p.add_argument("--responder-model", help="responder model spec (default: --model)")
    p.add_argument("--base-url", help="OpenAI-compatible server URL for provider:model specs")
    p.add_argument("--prompts", help="folder of prompt templates (default: the shipped prompts/)")
    p.add_argument("--max-steps", type=int, default=max_steps, help="evolution depth per instruction")
    p.add_argument("--concurrency", type=int, default=8, help="instructions evolved in parallel")
    p.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (0 = greedy)")
    p.add_argument("--seed", type=int, default=0, help="random seed of routers and sampling")
    p.add_argument("--max-seed-tokens", type=int, default=1024, help="longest seed accepted (tokens)")
    p.add_argument("--skip-invalid", action="store_true", help="skip empty or over-long seeds with a warning instead of failing")
    p.add_argument("--overwrite", action="store_true", help="replace the results of an earlier run in --out")
    p.add_argument("--improve", choices=("none", "pit", "self-refine"), default="none",
                   help="improve each answer after respond: pit (trained improver + gap model) or self-refine")
    p.add_argument("--pit", help="folder written by `teamsrl pit train` (for --improve pit)")
    p.add_argument("--improver-model", help="improver model spec (default: DIR/improver for pit, --responder-model for self-refine)")
    p.add_argument("--improve-rounds", type=int, default=2, help="most improvement rounds per answer")
    p.add_argument("--improve-threshold", type=float, default=0.0, help="pit: stop when the predicted gain is at or below this")


def settings(args):
    """(seeds, Context) from the options, validated before anything runs."""
    from ..context import Context
    from ..errors import InputError
    from ..seeds import load_seeds

    for name in ("budget", "max_steps", "concurrency", "improve_rounds"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "max_steps" else 1):
            raise InputError(f"must be positive, got {value}", field=f"--{name.replace('_', '-')}")
    if args.improve == "pit" and not args.pit:
        raise InputError("--improve pit needs the folder of `teamsrl pit train`", field="--pit")
    if args.pit and args.improve != "pit":
        raise InputError("is only used with --improve pit", field="--pit")
    if args.pit and not os.path.isdir(args.pit):
        raise InputError("folder does not exist", path=args.pit, field="--pit")
    seeds = load_seeds(args.seeds, strict=not args.skip_invalid, max_tokens=args.max_seed_tokens)
    context = Context(
        model=args.model, reviewer_model=args.reviewer_model, responder_model=args.responder_model,
        base_url=args.base_url, router=args.router, policy=args.policy, prompts=args.prompts,
        max_steps=args.max_steps, seed=args.seed, temperature=args.temperature, improve=args.improve, pit=args.pit,
        improver_model=args.improver_model, improve_rounds=args.improve_rounds, improve_threshold=args.improve_threshold,
    )
    return seeds, context


def run(args) -> int:
    from ..run import generate

    seeds, context = settings(args)
    generate(seeds, out=args.out, context=context, budget=args.budget, token_budget=args.token_budget,
             concurrency=args.concurrency, overwrite=args.overwrite)
    with open(f"{args.out}/report.json") as f:
        report = json.load(f)
    print(f"{report['records']} records, {report['queries']['total']} queries (budget {report['budget']}), "
          f"{report['accepted']} evolutions accepted, {report['eliminated']} eliminated "
          f"({report['elimination_rate']:.0%}) -> {args.out}/dataset.jsonl")
    if "improve" in report:
        improve = report["improve"]
        print(f"{args.improve}: {improve['accepted']}/{improve['rounds']} improvement rounds kept, "
              f"{improve['improved_records']} answers improved; stopped by {improve['stopped_by']}")
    return 0
