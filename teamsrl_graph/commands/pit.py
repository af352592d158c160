"""`teamsrl pit`: PIT's preference pairs and training.

    teamsrl pit prefs --data runs/demo/generate/dataset.jsonl --out runs/prefs.jsonl --samples 3 --budget 400
    teamsrl pit train --preferences runs/prefs.jsonl --out runs/pit

`prefs` samples answers to a graph run's final instructions and ranks them by the reviewer's
judgement, relevance and fluency (`pit.collect`), writing TRL's preference format; when a record
carries verifiable constraints, compliance with them (partial credit per constraint) ranks first. `train` takes such a file (or any TRL preference
file) and writes OUT/gap, OUT/improver, OUT/run_card.json and plots; `teamsrl generate --improve pit
--pit OUT` then improves answers with them.
"""

from __future__ import annotations

from ..pit.config import PITConfig
from .options import Renamed, add_config_options, config_values

# flag -> (PITConfig field, type, help); defaults come from PITConfig
TRAIN_OPTIONS = {
    "--heldout": ("heldout_fraction", float, "share of pairs held out to measure the gap model"),
    "--sft-epochs": ("sft_epochs", float, "stage 0 (SFT) passes over the pairs"),
    "--sft-lr": ("sft_learning_rate", float, "stage 0 learning rate"),
    "--rl-lr": ("rl_learning_rate", float, "GRPO learning rate"),
    "--generations": ("num_generations", int, "completions sampled per prompt in GRPO"),
    "--prompts-per-step": ("prompts_per_step", int, "prompts per GRPO step"),
    "--completion-tokens": ("max_completion_length", int, "new-token cap of a sampled improvement"),
    "--temperature": ("temperature", float, "sampling temperature of GRPO's completions"),
    "--kl": ("kl_beta", float, "KL penalty to the stage-0 improver"),
    "--seed": ("seed", int, "seed of the split, the adapter and the sampling"),
}


def add_arguments(parser):
    sub = parser.add_subparsers(dest="pit_command", required=True)
    p = sub.add_parser("prefs", help="sample answers to graph instructions and let the reviewer rank them")
    p.add_argument("--data", required=True,
                   help="JSON lines with 'instruction' (optional 'input', 'response'): a graph's dataset.jsonl or a seed file")
    p.add_argument("--out", required=True, help="preference file to write (JSON lines: prompt, chosen, rejected)")
    p.add_argument("--samples", type=int, default=3, help="answers sampled per instruction (default: 3)")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (default: 0.8)")
    p.add_argument("--answer-tokens", "--tokens", dest="tokens", action=Renamed, type=int, default=256, metavar="N",
                   help="new-token cap of a sampled answer (default: 256; --tokens is the old name)")
    p.add_argument("--min-margin", type=float, default=0.05, help="least rating gap between chosen and rejected (default: 0.05)")
    for part in ("reviewer", "relevance", "fluency"):
        p.add_argument(f"--{part}-weight", type=float, default=1.0, help=f"weight of the {part} part of a rating (default: 1)")
    p.add_argument("--budget", type=int, help="hard cap on LLM queries")
    p.add_argument("--model", default="local", help="responder model spec")
    p.add_argument("--reviewer-model", help="reviewer model spec (default: --model)")
    p.add_argument("--base-url", help="OpenAI-compatible server URL for provider:model specs")
    p.add_argument("--prompts", help="folder of prompt templates (default: the shipped prompts/)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(pit_run=run_prefs)

    t = sub.add_parser("train", help="train the gap reward model and the improver (SFT, then two GRPO stages)")
    t.add_argument("--preferences", required=True, help="TRL preference file (JSON lines: prompt, chosen, rejected)")
    t.add_argument("--out", required=True, help="output folder")
    t.add_argument("--base", default="local", help='improver base model: "local" (embedded) or a model folder')
    t.add_argument("--prompts", help="folder holding improve.txt (default: the shipped prompts/)")
    t.add_argument("--rl-steps", type=int, nargs=2, default=list(PITConfig.rl_steps), metavar=("STAGE1", "STAGE2"),
                   help=f"GRPO steps of stage 1 and stage 2 (default: {PITConfig.rl_steps[0]} {PITConfig.rl_steps[1]})")
    add_config_options(t, TRAIN_OPTIONS, PITConfig)
    t.set_defaults(pit_run=run_train)


def run(args) -> int:
    return args.pit_run(args)


def run_prefs(args) -> int:
    from pathlib import Path

    from ..constraints import validate
    from ..evolve.context import Context
    from ..common.errors import InputError
    from ..common.checks import non_negative, whole
    from ..pit.collect import collect_preferences, rating_weights
    from ..pit.preferences import write_preferences
    from ..evolve.resources import resources
    from ..common.files import make_folder, read_objects
    from ..dataio.seeds import seed_fields

    # settings no collection can use fail before the data is read or a model loads
    whole(args, "samples", least=2, prefix="--")  # a pair needs two answers (a record's own response is one)
    non_negative(args, "temperature", "min_margin", prefix="--")
    weights = rating_weights({part: getattr(args, f"{part}_weight") for part in ("reviewer", "relevance", "fluency")})
    if Path(args.out).exists() and not args.overwrite:
        raise InputError("already exists; choose another --out or pass --overwrite", path=args.out)
    if Path(args.out).is_dir():
        raise InputError("is a folder; --out names the preference file to write", path=args.out, field="--out")
    make_folder(Path(args.out).parent)  # before the sampling: a place that takes no file fails now, not at the end
    records = []
    for line, record in read_objects(args.data):
        instruction, _ = seed_fields(record, args.data, line)  # the seed file's checks
        if not instruction.strip():
            raise InputError("empty", path=args.data, line=line, field="instruction")
        if not isinstance(record.get("response") or "", str):
            raise InputError("must be a string", path=args.data, line=line, field="response")
        if record.get("constraints") is not None:
            validate(record["constraints"], path=args.data, line=line)
        records.append(record)
    if not records:
        raise InputError("the file has no records", path=args.data)
    context = Context(model=args.model, reviewer_model=args.reviewer_model, base_url=args.base_url,
                      prompts=args.prompts, answer_tokens=args.tokens, budget=args.budget)
    resources(context).models.load()
    collected = collect_preferences(records, context, samples=args.samples, temperature=args.temperature,
                                    min_margin=args.min_margin, weights=weights)
    if not collected.preferences:
        raise InputError("no instruction gave two answers the reviewer rated apart; try more --samples or a "
                         "lower --min-margin", path=args.data)
    write_preferences(args.out, collected.preferences)
    s = collected.summary()
    print(f"{s['pairs']} preference pairs from {s['instructions']} instructions ({s['by_compliance']} decided by "
          f"constraint compliance, {s['no_margin']} without a margin, "
          f"{s['skipped_budget']} over budget), {s['queries']} queries -> {args.out}")
    return 0


def run_train(args) -> int:
    from ..common.files import make_folder
    from ..pit.preferences import read_preferences
    from ..pit.trainer import PITTrainer

    prefs = read_preferences(args.preferences)  # bad input fails before the model loads
    config = PITConfig(output_dir=args.out, base=args.base, prompts=args.prompts, rl_steps=tuple(args.rl_steps),
                       **config_values(args, TRAIN_OPTIONS))
    make_folder(args.out)  # before the training: a place that takes no file fails now, not at the end
    trainer = PITTrainer(config, prefs, source=args.preferences)
    history = trainer.train()
    out = trainer.save()
    held = (history["gap"] or {}).get("heldout") or {}
    rewards = [f"stage {i + 1}: {s[0]['reward']:.3f} -> {s[-1]['reward']:.3f}" for i, s in enumerate(history["rl"]) if s]
    print(f"gap model held-out pairwise accuracy {held.get('accuracy')} ({held.get('pairs')} pairs); "
          f"gap reward {'; '.join(rewards) or 'no RL steps'}")
    print(f"improver: {out / 'improver'}  gap model: {out / 'gap'}  card: {out / 'run_card.json'}")
    return 0
