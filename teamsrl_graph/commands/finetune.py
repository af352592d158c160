"""`teamsrl finetune`: one LoRA fine-tuning step on the graph's dataset.jsonl, supervised on the
verified answers (`--trainer sft`) or GRPO rewarded by the verifiers on the constrained instructions
(`--trainer rlvr`, `rlvr.finetune`).

A seeded fraction of the usable records is held out for `teamsrl eval`; both parts are written next
to the adapter as conversations (`train.jsonl`, `heldout.jsonl`), so the evaluation knows exactly
which records the model was trained on.
"""

from __future__ import annotations

from pathlib import Path


def add_arguments(parser):
    from ..common.lora import LoraSettings
    from ..rlvr.config import RLVRConfig
    from ..sft.config import SFTRunConfig

    c, lora, rl = SFTRunConfig(), LoraSettings(), RLVRConfig()
    parser.add_argument("--data", required=True, help="the graph's dataset.jsonl")
    parser.add_argument("--out", required=True, help="output folder (adapter/, run_card.json, loss.png, ...)")
    parser.add_argument("--base", default=c.base, help="'local' (embedded SmolLM2-135M-Instruct) or a model folder")
    parser.add_argument("--trainer", choices=("sft", "rlvr"), default="sft",
                        help="sft (default): supervised on the answers; rlvr: GRPO on the constrained instructions, "
                             "rewarded by the verifiers (the model samples its own answers)")
    parser.add_argument("--epochs", type=float, default=c.epochs, help=f"passes over the data (default {c.epochs})")
    parser.add_argument("--lr", type=float, default=None,
                        help=f"learning rate (default {c.learning_rate} for sft, {rl.learning_rate} for rlvr)")
    parser.add_argument("--rl-steps", type=int, default=rl.steps, help=f"rlvr: optimizer steps (default {rl.steps})")
    parser.add_argument("--rl-prompts", type=int, default=rl.prompts_per_step,
                        help=f"rlvr: instructions a step (default {rl.prompts_per_step})")
    parser.add_argument("--rl-samples", type=int, default=rl.num_generations,
                        help=f"rlvr: answers sampled to each instruction (default {rl.num_generations})")
    parser.add_argument("--rl-skip-tied", action="store_true",
                        help="rlvr: leave groups whose answers all scored alike out of each step")
    parser.add_argument("--batch-size", type=int, default=c.batch_size, help=f"conversations per step (default {c.batch_size})")
    parser.add_argument("--max-length", type=int, default=c.max_length, help=f"tokens per conversation (default {c.max_length})")
    parser.add_argument("--r", type=int, default=lora.r, help=f"LoRA rank (default {lora.r})")
    parser.add_argument("--alpha", type=int, default=lora.alpha, help=f"LoRA alpha (default {lora.alpha})")
    parser.add_argument("--dropout", type=float, default=lora.dropout, help=f"LoRA dropout (default {lora.dropout})")
    parser.add_argument("--target-modules", default=",".join(lora.target_modules),
                        help="comma-separated module names that get an adapter")
    parser.add_argument("--gradient-checkpointing", action="store_true", help="save memory at ~20%% speed")
    parser.add_argument("--heldout", type=float, default=0.2, help="fraction of records held out for eval (default 0.2)")
    parser.add_argument("--seed", type=int, default=c.seed, help="split, data order and adapter init seed")
    parser.add_argument("--merge", action="store_true", help="also write the merged model to OUT/merged")
    parser.add_argument("--unverified", action="store_true",
                        help="also train on answers that failed their verifiable constraints (default: verified only)")
    parser.add_argument("--validation", type=float, default=c.validation_fraction,
                        help=f"share of the training part used to stop early on its loss; 0 = off (default {c.validation_fraction})")
    parser.add_argument("--evaluations-per-epoch", type=int, default=c.evaluations_per_epoch, metavar="N",
                        help="validation losses per epoch that early stopping reads, the last step's included "
                             f"(default {c.evaluations_per_epoch})")
    parser.add_argument("--patience", type=int, default=c.patience,
                        help=f"evaluations without a better validation loss before training stops (default {c.patience})")
    parser.add_argument("--dp-epsilon", type=float, default=c.dp_epsilon,
                        help="train with DP-SGD to this privacy budget epsilon; 0 = off (default)")
    parser.add_argument("--dp-delta", type=float, default=c.dp_delta, help="DP-SGD delta (default 1 / (10 x records))")
    parser.add_argument("--dp-clip", type=float, default=c.dp_clip,
                        help=f"DP-SGD bound on each conversation's gradient norm (default {c.dp_clip})")
    parser.add_argument("--report-to", default=c.report_to,
                        help=f"trackers trl logs to, comma-separated: none, tensorboard, wandb, ... (default {c.report_to})")


def private_note(private: dict | None) -> str:
    if not private:
        return ""
    return (f"; DP-SGD: epsilon {private['epsilon_spent']} spent of {private['epsilon']} (delta {private['delta']:.2g}, "
            f"noise {private['noise_multiplier']:.2f}, {private['steps']} steps)")


def run(args) -> int:
    from functools import partial

    from ..common.lora import LoraSettings
    from ..common.files import make_folder, read_jsonl, write_jsonl
    from ..dataio.records import split_heldout
    from ..sft import data as sft_data
    from ..sft.config import SFTRunConfig
    from ..sft.trainer import finetune

    rl = args.trainer == "rlvr"
    # bad data fails here, before anything is written; rlvr trains on instructions, so any usable record will do
    records = [{**r, "id": str(r.get("id", n))} for n, r in enumerate(read_jsonl(args.data), 1)]  # ids as conversations'
    conversations = sft_data.to_conversations(records, args.data, verified_only=not (args.unverified or rl))
    train, heldout = split_heldout(conversations, args.heldout, args.seed)
    lora = LoraSettings(r=args.r, alpha=args.alpha, dropout=args.dropout,
                        target_modules=args.target_modules)  # comma-separated: LoraSettings splits it
    if rl:
        from ..rlvr.config import RLVRConfig
        from ..rlvr.finetune import finetune_rlvr, outside, refuse_privacy

        refuse_privacy(args.dp_epsilon)
        config = RLVRConfig(base=args.base, steps=args.rl_steps, prompts_per_step=args.rl_prompts,
                            num_generations=args.rl_samples, skip_tied=args.rl_skip_tied, seed=args.seed, lora=lora,
                            **({} if args.lr is None else {"learning_rate": args.lr}))
        # every constrained instruction outside the held-out part, those with no usable answer included
        train_run = partial(finetune_rlvr, outside(records, heldout), args.out, config)
    else:
        config = SFTRunConfig(
            base=args.base, lora=lora, epochs=args.epochs,
            learning_rate=SFTRunConfig.learning_rate if args.lr is None else args.lr, batch_size=args.batch_size,
            max_length=args.max_length, gradient_checkpointing=args.gradient_checkpointing, seed=args.seed,
            merge=args.merge, report_to=args.report_to, validation_fraction=args.validation,
            evaluations_per_epoch=args.evaluations_per_epoch, patience=args.patience, dp_epsilon=args.dp_epsilon,
            dp_delta=args.dp_delta, dp_clip=args.dp_clip,
        )
        train_run = partial(finetune, train, args.out, config)
    make_folder(args.out)  # settings and data first: a refused run leaves no folder
    result = train_run(data_file=args.data, heldout=len(heldout))
    out, members = Path(args.out), result.trained_on(train)
    write_jsonl(out / "train.jsonl", members)  # the members `teamsrl eval` audits
    if not rl:
        write_jsonl(out / "validation.jsonl", [c for c in train if c not in members])  # early stopping's split
    write_jsonl(out / "heldout.jsonl", heldout)
    print(summary(result, len(heldout)))
    return 0


def summary(result, heldout: int) -> str:
    """The printed line of a finished fine-tune."""
    card = result.card
    if card.get("trainer") == "rlvr":
        reward = card["reward"]
        return (f"RLVR on {card['conversations']} constrained instructions ({heldout} records held out): "
                f"{card['steps']} steps, {card['answers_sampled']} answers sampled, smoothed mean reward "
                f"{reward['first']:.3f} -> {reward['last']:.3f} in {result.seconds:.0f} s; "
                f"adapter in {result.adapter_dir}")
    return (f"fine-tuned on {card['conversations']} conversations ({heldout} records held out): "
            f"smoothed loss {result.smoothed[0]:.3f} -> {result.smoothed[-1]:.3f}, {result.train_tokens} tokens in "
            f"{result.seconds:.0f} s ({result.train_tokens / result.seconds:.0f} tok/s); "
            f"adapter in {result.adapter_dir}"
            + private_note(card["differential_privacy"]))
