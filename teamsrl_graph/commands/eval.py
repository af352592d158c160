"""`teamsrl eval`: evaluate a `teamsrl finetune` output folder (loss, win rate, membership inference,
paired comparisons on held-out constrained prompts and IFBench)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import Renamed


def prompt_count(text: str) -> int:
    """--ifbench's value: a number of prompts, 0 for none, -1 or "all" for every offline-verifiable one."""
    if text.strip().lower() == "all":
        return -1
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of prompts or 'all', got {text!r}") from None
    if count < -1:
        raise argparse.ArgumentTypeError(f"expected a number of prompts, -1 or 'all', got {count}")
    return count


def constrained_source(text: str) -> str | int:
    """--constrained's value: a JSONL file, or a number N for the main job's N held-out constrained
    instructions (those `teamsrl pipeline --constrained N` builds at the run seed given by --seed); a
    file of that name wins."""
    if Path(text).exists() or not text.strip().lstrip("-").isdigit():
        return text
    if int(text) < 0:
        raise argparse.ArgumentTypeError(f"expected a JSONL file or a number of instructions, got {text!r}")
    return int(text)


def add_arguments(parser):
    from ..evaluation.config import EvalConfig

    c = EvalConfig()
    parser.add_argument("--run", dest="run_dir", required=True, help="the folder `teamsrl finetune --out` wrote")
    parser.add_argument("--adapter", help="adapter folder (default RUN/adapter)")
    parser.add_argument("--train", help="records trained on (default RUN/train.jsonl)")
    parser.add_argument("--heldout-records", "--heldout", dest="heldout", action=Renamed, metavar="FILE",
                        help="records not trained on (default RUN/heldout.jsonl; --heldout is the old name)")
    parser.add_argument("--out", help="where eval.json, roc.png and answers.jsonl go (default RUN)")
    parser.add_argument("--base", help="base model folder (default: the one the adapter names)")
    parser.add_argument("--judge", default=c.judge, help="reviewer-role model spec for the win rate; '' skips it")
    parser.add_argument("--prompts", help="prompt folder with judge_pair.txt (default: shipped prompts)")
    parser.add_argument("--judge-pairs", type=int, default=c.judge_pairs, help=f"held-out instructions judged (default {c.judge_pairs})")
    parser.add_argument("--judge-tokens", "--max-new-tokens", dest="max_new_tokens", action=Renamed, type=int,
                        default=c.max_new_tokens, metavar="N",
                        help=f"new-token cap of a judged answer (default {c.max_new_tokens}; --max-new-tokens is the old name)")
    parser.add_argument("--ifbench", type=prompt_count, default=c.ifbench, metavar="N",
                        help="answer N IFBench prompts (a fixed subset) with both models and verify them; "
                             "-1 or 'all': every offline-verifiable prompt; 0 skips it")
    parser.add_argument("--ifbench-tokens", type=int, default=c.ifbench_tokens, help=f"answer length cap on IFBench (default {c.ifbench_tokens})")
    parser.add_argument("--constrained", type=constrained_source, metavar="FILE|N",
                        help="held-out constrained prompts answered by both models and verified: a JSONL file "
                             "({\"prompt\", \"constraints\"} per line), or N for the main job's N held-out constrained "
                             "instructions (held-out tasks and wordings, as `teamsrl pipeline --constrained N` builds "
                             "them at the run seed --seed); 0 skips them")
    parser.add_argument("--seed", type=int, default=0,
                        help="the `teamsrl pipeline --seed` whose held-out instructions --constrained N stands for (default 0)")
    parser.add_argument("--answer-tokens", type=int, default=c.answer_tokens,
                        help=f"answer length cap on the constrained prompts (default {c.answer_tokens})")
    parser.add_argument("--batch-size", type=int, default=c.batch_size,
                        help=f"answers generated together (default {c.batch_size})")
    parser.add_argument("--no-cache", action="store_true",
                        help="answer every prompt again: neither the base model's nor the adapter's answers come from "
                             "(or go to) the answer cache of earlier evaluations with the same model, prompts and settings")
    parser.add_argument("--loss-dtype", choices=("auto", "float32"), default=c.loss_dtype,
                        help="float32: losses and the membership audit from a float32 copy of the model, exact even "
                             "where bf16 rounding hides a small (e.g. DP-SGD) adapter; auto: the model's default dtype")


def run(args) -> int:
    from ..common.errors import InputError
    from ..common.files import make_folder
    from ..evaluation import EvalConfig, evaluate, table

    constrained = args.constrained
    if isinstance(constrained, int):
        from .pipeline import evaluation_constrained

        constrained = evaluation_constrained(constrained, args.seed) if constrained else None
    run_dir = Path(args.run_dir)
    adapter = Path(args.adapter or run_dir / "adapter")
    if not (adapter / "adapter_config.json").is_file():
        raise InputError("no adapter here (adapter_config.json is missing)", path=adapter)
    config = EvalConfig(base=args.base, judge=args.judge, prompts=args.prompts, judge_pairs=args.judge_pairs,
                        max_new_tokens=args.max_new_tokens, ifbench=args.ifbench, ifbench_tokens=args.ifbench_tokens,
                        constrained=constrained, answer_tokens=args.answer_tokens, batch_size=args.batch_size,
                        loss_dtype=args.loss_dtype, cache_base=not args.no_cache, cache_finetuned=not args.no_cache)
    out = make_folder(args.out or run_dir)  # a place that takes no file fails before any model loads
    result = evaluate(adapter, Path(args.heldout or run_dir / "heldout.jsonl"),
                      Path(args.train or run_dir / "train.jsonl"), out, config)
    print(table(result))
    print(f"written to {out / 'eval.json'} ({result['seconds']:.0f} s)")
    return 0
