"""The `teamsrl` command line. Each subcommand lives in its own module with two functions:
`add_arguments(parser)` and `run(args) -> int`; this file only registers them and turns user-facing
errors into one clear line and exit code 2. Heavy imports happen inside `run`, so `--help` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from .errors import Interrupted, TeamsrlError

# subcommand -> (module under teamsrl_graph.commands, one-line help)
COMMANDS = {
    "pipeline": ("pipeline", "the main job end to end: generate, fine-tune once, evaluate"),
    "generate": ("generate", "evolve seed instructions through the graph and answer them"),
    "finetune": ("finetune", "fine-tune a model with LoRA on the graph's dataset, in one supervised step"),
    "eval": ("eval", "evaluate a fine-tuned adapter: held-out loss, judged win rate, membership inference"),
    "hir": ("hir", "train a LoRA adapter with hindsight instruction relabeling on a verifiable task or graph records"),
    "train-policy": ("train_policy", "train the learned router (TRPO on the reviewer's reward)"),
    "pit": ("pit", "PIT: rank sampled answers into preference pairs, train a gap reward model and an improver"),
    "export": ("export", "save the graph's dataset.jsonl as a Hugging Face dataset (messages, prompt-completion, alpaca, rlvr)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="teamsrl", description="Build instruction datasets with reinforcement learning and train models on them."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every LLM call")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        command = importlib.import_module(f"teamsrl_graph.commands.{module}")
        p = sub.add_parser(name, help=help_text, description=help_text)
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("urllib3", "transformers", "accelerate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from .models.factory import protect_secrets

    protect_secrets()  # HTTP client loggers quiet, keys and passwords redacted from every record
    try:
        return int(args.run(args) or 0)
    except Interrupted as error:
        print(f"teamsrl {args.command}: {error}", file=sys.stderr)
        return error.exit_code
    except TeamsrlError as error:
        print(f"teamsrl {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"teamsrl {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
