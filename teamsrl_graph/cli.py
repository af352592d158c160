"""The `teamsrl` command line. Each subcommand lives in its own module with two functions:
`add_arguments(parser)` and `run(args) -> int`; this file only registers them and turns user-facing
errors into one clear line and exit code 2. Heavy imports happen inside `run`, so `--help` is fast
(benchmarks/cli_startup.py measures it; building the parser loads no torch, transformers, peft, trl,
datasets or LangChain). The global options (-v/--verbose, -q/--quiet) work before or after the
subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .common.errors import Interrupted, TeamsrlError

# subcommand -> (module under teamsrl_graph.commands, one-line help)
COMMANDS = {
    "pipeline": ("pipeline", "the main job end to end: generate, fine-tune once, evaluate"),
    "generate": ("generate", "evolve seed instructions through the graph and answer them"),
    "finetune": ("finetune", "fine-tune a model with LoRA on the graph's dataset, in one supervised step"),
    "eval": ("eval", "evaluate a fine-tuned adapter: held-out loss, judged win rate, membership inference"),
    "hir": ("hir", "train a LoRA adapter with hindsight instruction relabeling on a verifiable task or graph records"),
    "train-policy": ("train_policy", "train the learned router (TRPO on the reviewer's gain, verified answers and query cost)"),
    "pit": ("pit", "PIT: rank sampled answers into preference pairs, train a gap reward model and an improver"),
    "export": ("export", "save the graph's dataset.jsonl as a Hugging Face dataset (messages, prompt-completion, alpaca, rlvr)"),
}


def global_options() -> argparse.ArgumentParser:
    """The options every command takes, given to the main parser and to each subparser. Their
    defaults are SUPPRESS, so a subparser that was not given one does not overwrite the value the main
    parser read (`teamsrl -v generate` and `teamsrl generate -v` are the same)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log every LLM call")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="only warnings and errors; no progress bar")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = global_options()
    parser = argparse.ArgumentParser(
        prog="teamsrl", description="Build instruction datasets with reinforcement learning and train models on them.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        command = importlib.import_module(f"teamsrl_graph.commands.{module}")
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed command line, with `verbose` and `quiet` always set (False when not given)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.verbose, args.quiet = getattr(args, "verbose", False), getattr(args, "quiet", False)
    if args.verbose and args.quiet:
        parser.error("-v/--verbose and -q/--quiet cannot be used together")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO,
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
