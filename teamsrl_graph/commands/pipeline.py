"""`teamsrl pipeline`: the main job end to end — generate a dataset, fine-tune once, evaluate.

generate (the evolution graph, query budget; every answered instruction carries 1-3 verifiable
constraints and its answers are sampled until one verifies) -> split usable records into train /
held out -> one LoRA fine-tuning step on the train part (plain LoRA by default, one epoch; early
stopping on a validation share acts once there is more than one evaluation: --epochs above 1 or
--evaluations-per-epoch above 1; DP-SGD with --dp-epsilon) ->
evaluation against the base model: held-out constrained instructions (the shipped held-out tasks
with constraints in held-out wordings, never trained on), IFBench, reference-answer loss, each base vs fine-tuned with a paired test, and
the membership-inference audit. Each stage writes into its own folder under --out, and
`summary.json` plus one printed line close the run. A run stopped part way goes on with --resume: the
generation keeps its done records, a finished fine-tune whose run card names the same settings and
records is kept, and the evaluation reads the answers it made before from its cache. Each stage is also a command of its own;
`generation_settings` and `fine_tune` hand the main job's generation settings and fine-tune to
benchmarks that compare datasets the main job's way.
"""

from __future__ import annotations

import argparse
import json
import logging

from . import generate as generate_command

log = logging.getLogger(__name__)

HELDOUT_SEED_OFFSET = 1000  # the held-out instructions draw their constraints under another seed than the run's
VALIDATION_SEED_OFFSET = 2000  # ... and the validation instructions under a third
LEARNING_RATE = 3e-4  # LoRA learning rate, most epochs and validation losses per epoch, chosen on the
EPOCHS = 1.0  # validation split (benchmarks/finetune_settings.py, results/finetune_settings.json)
EVALUATIONS = 1
# supervised on the verified answers (the default), or GRPO rewarded by the verifiers; on the validation split
# neither beat the base model at these settings, and rlvr trained far longer (results/finetune_trainer.json;
# rlvr at 40 steps: results/finetune_rlvr40.json; at 16 instructions a step: results/finetune_rlvr16.json;
# on the records' seed tasks: results/finetune_rlvr_seed_level.json, at 2 answers: ..._seed_level_2samples.json;
# on the 455 seed tasks of a full run: results/finetune_rlvr_demo_seed_level.json)
TRAINERS = {  # trainer: (the command that runs the main job with it, what its one fine-tune is)
    "sft": ("make demo", "one LoRA fine-tune on the verified records"),
    "rlvr": ("teamsrl pipeline --out runs/demo --overwrite --trainer rlvr", "one GRPO fine-tune (rlvr) rewarded by the "
             "verifiers on the constrained instructions outside the held-out part"),
}
RL_LEARNING_RATE = 1e-3  # rlvr: the trainers harness's setting (results/trainers_rlvr.json)
RL_STEPS, RL_PROMPTS, RL_SAMPLES = 16, 8, 4  # rlvr: optimizer steps, instructions a step, answers an instruction
# How the main job answers every instruction (Context fields): 1-3 constraints, one three times as often as three
# (a run's `compliance_by_count` shows why: at the same 3000 queries, 3:2:1 raised verified_trained_on from 58,
# results/demo_424031d.json, to 88, results/demo_b9df2ef.json), answers two a round, at most two rounds. Verified
# records per query is what the budget buys; past the second round few instructions verify, and a new instruction
# is the better use of a query. The policy's training answers the same way (`PolicyTrainingConfig`), so the router
# learns what these answers pay.
ANSWERING = {"constraints_per_instruction": 3, "constraint_counts": "3,2,1", "sample_batch": 2, "answer_samples": 4,
             "answer_tokens": 192}


def add_arguments(p: argparse.ArgumentParser):
    generate_command.add_arguments(p, out="runs/pipeline", budget=3000, router="policy", max_steps=2, **ANSWERING,
                                   resume=generate_command.RESUME + "; a finished fine-tune with the same settings and "
                                   "records is kept, and answers the evaluation made before come from its cache")
    p.set_defaults(concurrency=32)  # with two answers to a request, 32 instructions fill most of the engine's 64 rows
    p.add_argument("--heldout", type=float, default=0.15,
                   help="fraction of records held out (not trained on: held-out loss, membership-inference non-members; "
                        "default 0.15)")
    p.add_argument("--epochs", type=float, default=EPOCHS,
                   help=f"most fine-tuning passes over the data (default {EPOCHS:g}; early stopping may end sooner)")
    p.add_argument("--evaluations-per-epoch", type=int, default=EVALUATIONS, metavar="N",
                   help=f"validation losses per epoch that early stopping reads, the last step's included; with one "
                        f"evaluation in all, nothing can stop early (default {EVALUATIONS})")
    p.add_argument("--trainer", choices=TRAINERS, default="sft",
                   help="sft (default): LoRA on the verified answers; rlvr: GRPO on the constrained instructions "
                        "outside the held-out part, rewarded by the verifiers (the model samples its own answers)")
    p.add_argument("--lr", type=float, default=None,
                   help=f"LoRA learning rate (default {LEARNING_RATE:g} for sft, {RL_LEARNING_RATE:g} for rlvr)")
    p.add_argument("--rl-steps", type=int, default=RL_STEPS, metavar="N",
                   help=f"rlvr: optimizer steps (default {RL_STEPS})")
    p.add_argument("--rl-prompts", type=int, default=RL_PROMPTS, metavar="N",
                   help=f"rlvr: instructions a step (default {RL_PROMPTS})")
    p.add_argument("--rl-samples", type=int, default=RL_SAMPLES, metavar="K",
                   help=f"rlvr: answers sampled to each instruction, GRPO's group (default {RL_SAMPLES})")
    p.add_argument("--rl-skip-tied", action="store_true",
                   help="rlvr: leave groups whose answers all scored alike out of each step")
    p.add_argument("--dp-epsilon", type=float, default=0.0,
                   help="fine-tune with DP-SGD to this privacy budget epsilon; 0 (default) = plain LoRA")
    p.add_argument("--judge-pairs", type=int, default=0, help="held-out instructions judged base vs fine-tuned (default 0: skipped)")
    p.add_argument("--constrained", type=int, default=200, metavar="N",
                   help="held-out constrained instructions answered and verified, base vs fine-tuned (default 200; 0 skips)")
    p.add_argument("--ifbench", type=int, default=-1, metavar="N",
                   help="IFBench prompts answered and verified, base vs fine-tuned; -1 (default) = all offline-verifiable; 0 skips")
    p.add_argument("--result", metavar="FILE",
                   help="also write the run's figures as a result file for the docs (e.g. results/demo.json)")


def heldout_constrained(n: int, seed: int, tasks: str = "heldout_tasks", split: str = "heldout", draw=None,
                        weights: list[float] | None = None) -> list[dict]:
    """`n` evaluation items {"prompt", "constraints", "task"}: the shipped held-out tasks (never
    trained on) with 1-3 constraints drawn under `seed` and worded in held-out phrasings only (other
    `tasks` and `split`: see `validation_constrained`; `tasks="seeds", split="train"` gives training
    instructions: the training seeds in training phrasings). A task's input (the text it works on)
    follows the composed instruction as in every record's user turn (`records.prompt_of`). `draw` and
    `weights` choose types and counts instead of the uniform draw (`heldout_instructions`)."""
    from ..constraints import heldout_instructions
    from ..dataio.records import prompt_of
    from ..dataio.seeds import load_seeds, shipped_tasks_path

    shipped = load_seeds(shipped_tasks_path(tasks))
    inputs = {s.instruction.strip(): s.input for s in shipped}
    items = heldout_instructions([s.instruction for s in shipped], n, seed, split, draw, weights)
    return [{**item, "prompt": prompt_of({"instruction": item["prompt"], "input": inputs[item["task"]]})} for item in items]


def evaluation_constrained(n: int, seed: int) -> list[dict]:
    """The main job's `n` held-out constrained instructions for run seed `seed` (what `teamsrl pipeline
    --constrained n --seed seed` and `teamsrl eval --constrained n --seed seed` answer): constraints
    drawn under `seed + HELDOUT_SEED_OFFSET`, so never the run's own draws."""
    return heldout_constrained(n, seed + HELDOUT_SEED_OFFSET)


def validation_constrained(n: int, seed: int) -> list[dict]:
    """`n` items to choose training settings on: the shipped validation tasks with 1-3 constraints
    drawn under `seed + VALIDATION_SEED_OFFSET`, in training phrasings; neither the evaluation's tasks
    nor its held-out wordings."""
    return heldout_constrained(n, seed + VALIDATION_SEED_OFFSET, tasks="validation_tasks", split="train")


def defaults() -> argparse.Namespace:
    """The options of `teamsrl pipeline` at their defaults, as its own parser gives them."""
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args([])


def generation_settings() -> tuple[dict, int]:
    """The main job's generation settings: every Context field at `teamsrl pipeline`'s default (router,
    budget and seed among them: a caller sets its own) and the instructions it evolves in parallel."""
    from ..evolve.context import Context
    from .options import field_values

    args = defaults()
    return field_values(args, Context), args.concurrency


def trainer_config(*, seed: int, epochs: float = EPOCHS, lr: float | None = None, evaluations: int = EVALUATIONS,
                   dp_epsilon: float = 0.0, base: str = "local", trainer: str = "sft",
                   rl: tuple[int, int, int] = (RL_STEPS, RL_PROMPTS, RL_SAMPLES), skip_tied: bool = False,
                   lora=None):
    """The main job's fine-tune settings, checked: an SFTRunConfig (`trainer="sft"`: `epochs`,
    `evaluations`, `dp_epsilon` apply) or an RLVRConfig ("rlvr": `rl` = (optimizer steps,
    instructions a step, answers an instruction), `skip_tied`). `lr` defaults to the trainer's own, `lora`
    (LoraSettings) to the shared adapter settings. Settings no run can use are an InputError naming
    the field (the configs check themselves), so the main job refuses them before it generates anything."""
    from ..common.errors import InputError
    from ..common.lora import LoraSettings

    if trainer not in TRAINERS:
        raise InputError(f"unknown trainer {trainer!r}; expected one of {', '.join(TRAINERS)}", field="--trainer")
    lora = lora or LoraSettings()
    if trainer == "rlvr":
        from ..rlvr.config import RLVRConfig
        from ..rlvr.finetune import refuse_privacy

        refuse_privacy(dp_epsilon)
        steps, prompts, samples = rl
        return RLVRConfig(base=base, steps=steps, prompts_per_step=prompts, num_generations=samples, seed=seed,
                          learning_rate=RL_LEARNING_RATE if lr is None else lr, skip_tied=skip_tied, lora=lora)
    from ..sft import SFTRunConfig

    return SFTRunConfig(base=base, epochs=epochs, learning_rate=LEARNING_RATE if lr is None else lr,
                        evaluations_per_epoch=evaluations, seed=seed, dp_epsilon=dp_epsilon, lora=lora)


def fine_tune(records: list[dict], out, config, *, heldout: float, keep: bool = False):
    """The main job's fine-tune of a generated dataset with `config` (`trainer_config`'s): its usable
    records split into train / held out (`heldout` of them, under `config.seed`), one LoRA fine-tune
    of `config.base` into `out`/finetune (the dataset `out`/generate/dataset.jsonl, when there, named
    and hashed in the model card). An SFTRunConfig learns the verified answers of the train part; an
    RLVRConfig trains with GRPO on the constrained instructions of every record outside the held-out
    part (those whose answers failed included). With `keep` (a resumed run), a fine-tune already in
    `out`/finetune whose run card names the same settings, records and dataset file is kept, not trained again.
    Returns (FinetuneResult, train records, held-out records); fewer than 4 usable records is an InputError."""
    from pathlib import Path

    from ..common.errors import InputError
    from ..dataio.records import split_heldout, usable
    from ..rlvr.config import RLVRConfig

    trainable = [r for r in records if usable(r)]
    if len(trainable) < 4:
        raise InputError(f"only {len(trainable)} usable records were generated; raise --budget", field="--budget")
    train, held = split_heldout(trainable, heldout, config.seed)
    dataset = Path(out) / "generate" / "dataset.jsonl"
    data_file = dataset if dataset.is_file() else None
    folder = Path(out) / "finetune"
    if isinstance(config, RLVRConfig):
        from ..rlvr.finetune import finetune_rlvr as trainer, instructions, outside

        # every constrained instruction outside the held-out part: an answer that failed still leaves its instruction
        taken = outside(records, held)
        ids = [i["id"] for i in instructions(taken)]
    else:
        from ..sft import finetune as trainer

        taken, ids = train, [str(r.get("id")) for r in train]
    kept = keep and finished(folder, config, ids, data_file)
    return kept or trainer(taken, folder, config, data_file=data_file, heldout=len(held)), train, held


def finished(folder, config, ids: list[str], data_file):
    """The fine-tune saved in `folder` as a FinetuneResult, when its run card names `config`'s settings,
    the records `ids` (trained on and validation split together) and the same `data_file` (its sha256),
    and its adapter is there; else None. What a run card does not say is never assumed."""
    from pathlib import Path

    from ..common.files import file_sha256
    from ..sft.trainer import FinetuneResult

    try:
        card = json.loads((Path(folder) / "run_card.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    source = card.get("data_file") if isinstance(card, dict) else None
    same = (isinstance(card, dict) and (Path(folder) / "adapter" / "adapter_model.safetensors").is_file()
            and card.get("config") == json.loads(json.dumps(config.to_dict()))
            and sorted([*card.get("train_ids", []), *card.get("validation_ids", [])]) == sorted(ids)
            and (source or {}).get("sha256") == (file_sha256(data_file) if data_file else None))
    if not same:
        return None
    log.info("keeping the fine-tune in %s: its run card names the same settings, records and dataset", folder)
    return FinetuneResult(Path(folder) / "adapter", card.get("losses", []), card.get("train_tokens", 0),
                          card.get("seconds", 0.0), None, card, card.get("smoothed_losses", []))


def run(args) -> int:
    import time
    from pathlib import Path

    from ..common.checks import fraction, whole
    from ..common.files import write_json, write_jsonl
    from ..dataio.records import verified
    from ..evaluation import EvalConfig, evaluate, headline, table

    started, out = time.monotonic(), Path(args.out)
    seeds, context = generate_command.settings(args)
    # bad fine-tune settings are refused before anything is generated
    config = trainer_config(seed=args.seed, epochs=args.epochs, lr=args.lr, evaluations=args.evaluations_per_epoch,
                            dp_epsilon=args.dp_epsilon, trainer=args.trainer,
                            rl=(args.rl_steps, args.rl_prompts, args.rl_samples), skip_tied=args.rl_skip_tied)
    if args.resume and args.result:  # its minutes would count the last part only
        from ..common.errors import InputError

        raise InputError("a result file gives one uninterrupted run's figures; leave it out of a resumed run",
                         field="--result")
    fraction(args, "heldout", prefix="--")  # ... and so are the evaluation's, which it would refuse at the end
    whole(args, "constrained", least=0, prefix="--")
    constrained = out / "eval" / "heldout_constrained.jsonl"
    evaluation = EvalConfig(judge=("local" if args.judge_pairs else ""), judge_pairs=args.judge_pairs,
                            ifbench=args.ifbench, constrained=str(constrained) if args.constrained else None,
                            answer_tokens=args.answer_tokens)
    records = generate_command.produce(args, seeds, context, out / "generate")
    tuned, train, heldout = fine_tune(records, out, config, heldout=args.heldout, keep=args.resume)
    members = tuned.trained_on(train)
    if args.constrained:
        constrained.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(constrained, evaluation_constrained(args.constrained, args.seed))
    report = evaluate(tuned.adapter_dir, heldout, members, out / "eval", evaluation)
    with open(out / "generate" / "report.json") as f:
        generation = json.load(f)

    figures = headline(report)
    summary = {
        "queries": generation["queries"]["total"],
        "requests": generation["queries"].get("requests"),
        "budget": args.budget,
        "records": len(records),
        "verified_records": sum(map(verified, records)),
        "train_records": len(members),
        "verified_trained_on": sum(map(verified, members)),
        "validation_records": len(train) - len(members),
        "heldout_records": len(heldout),
        "accepted_evolutions": generation["accepted"],
        "eliminated_evolutions": generation["eliminated"],
        "answer_samples": generation.get("answer_samples"),
        "compliance": generation["verification"]["prompt_strict"],
        "compliance_by_count": {n: c["strict"] for n, c in generation["verification"].get("by_count", {}).items()},
        "per_verified_record": generation.get("per_verified_record"),
        "constraint_types": generation["verification"].get("type_mix"),
        "completion_tokens_per_second": generation.get("completion_tokens_per_second"),
        "generation_seconds": generation.get("seconds"),
        "trainer": args.trainer,
        "loss": {"first": tuned.smoothed[0], "last": tuned.smoothed[-1], "smoothed": True} if tuned.smoothed else None,
        "reward": tuned.card.get("reward"),  # rlvr: the smoothed mean reward, first and last step
        "learning_rate": tuned.card["config"]["learning_rate"],
        "heldout_constrained": figures["heldout_constrained"],
        "ifbench": figures["ifbench"],
        "reference_loss": figures["reference_loss"],
        "win_rate": (report.get("win_rate") or {}).get("win_rate"),
        "mia_auc": {k: v for k, v in report["membership_inference"].items() if "_auc" in k or k == "chance_band"},
        "differential_privacy": tuned.card["differential_privacy"],
        "seconds": round(time.monotonic() - started, 1),
        "resumed": bool(args.resume),  # then `seconds` counts this part of the run only
    }
    write_json(out / "summary.json", summary)
    if args.result:
        from ..common.results import write_result

        write_result(args.result, "The main job (`make demo`): generate, fine-tune once, evaluate", **result_of(summary))
    print(table(report))
    print(line(summary, out))
    return 0


def result_of(summary: dict) -> dict:
    """The keyword arguments of `write_result` for one run's `summary`: its figures, the base vs
    fine-tuned comparisons as a table, and which figures the README shows."""
    mia, cost = summary["mia_auc"], summary.get("per_verified_record") or {}
    command, fine_tuned = TRAINERS[summary.get("trainer", "sft")]
    figures = {
        "minutes": round(summary["seconds"] / 60, 1),
        "queries": summary["queries"],
        "records": summary["records"],
        "verified_trained_on": summary["verified_trained_on"],
        "generation_tokens_per_second": summary["completion_tokens_per_second"],
        "queries_per_verified_record": cost.get("queries"),
        "completion_tokens_per_verified_record": cost.get("completion_tokens"),
        "heldout_constrained_gain": (round(summary["heldout_constrained"]["finetuned"] - summary["heldout_constrained"]["base"], 3)
                                     if summary["heldout_constrained"] else None),
        "mia_loss_ratio_auc": mia.get("loss_ratio_auc"),
        "mia_loss_ratio_auc_interval": mia.get("loss_ratio_auc_interval"),
        "mia_no_leak_band": mia.get("chance_band"),
    }
    rows = []
    for name, label in (("heldout_constrained", "held-out constrained instructions (prompt-level strict)"),
                        ("ifbench", "IFBench (prompt-level loose)")):
        c = summary[name]
        if c:
            rows.append([label, c["n"], round(c["base"], 3), round(c["finetuned"], 3), f"+{c['gained']} / -{c['lost']}",
                         f"{c['p_value']:.2g}", c.get("interval")])
    reference = summary["reference_loss"] or {}
    rows.append(["reference-answer loss", None, reference.get("base"), reference.get("finetuned"), None, None, None])
    return {"figures": figures, "columns": ["evaluation", "n", "base", "fine-tuned", "gained / lost", "McNemar p",
                                             "95% interval of the difference"],
            "rows": rows, "headline": ["minutes", "verified_trained_on", "heldout_constrained_gain", "mia_loss_ratio_auc"],
            "command": command,
            "summary": (
                "One run of the main job on the embedded model: the evolution graph generates constrained instructions "
                f"from the shipped seeds and samples answers until one verifies; {fine_tuned}"
                "; base and fine-tuned answer the same held-out constrained instructions (held-out tasks, "
                "held-out wordings) and IFBench prompts, compared pairwise.")}


def comparison(figures: dict | None) -> str:
    """"base -> fine-tuned (n, p)" of one paired comparison, or "skipped"."""
    if not figures:
        return "skipped"
    return f"{figures['base']:.3f} -> {figures['finetuned']:.3f} (n={figures['n']}, McNemar p={figures['p_value']:.3g})"


def progress(summary: dict) -> str:
    """How the fine-tune went: the smoothed loss (sft) or mean reward (rlvr), first -> last step."""
    name, curve = ("mean reward", summary["reward"]) if summary.get("reward") else ("loss", summary["loss"])
    return f"smoothed {name} {curve['first']:.3f} -> {curve['last']:.3f}" if curve else f"no {name} logged"


def line(summary: dict, out) -> str:
    """The run in one printed line (the same figures as summary.json)."""
    mia, reference = summary["mia_auc"], summary["reference_loss"] or {}
    return (f"pipeline: {summary['queries']}/{summary['budget']} queries ({summary['requests']} requests) -> "
            f"{summary['records']} records, {summary['verified_records']} verified; fine-tuned on {summary['train_records']} "
            f"({summary['verified_trained_on']} verified) by {summary['trainer']}, {progress(summary)}; "
            f"held-out constrained {comparison(summary['heldout_constrained'])}; "
            f"IFBench loose {comparison(summary['ifbench'])}; reference loss {reference.get('base')} -> "
            f"{reference.get('finetuned')}; MIA loss-ratio AUC {mia.get('loss_ratio_auc')} (95% bootstrap "
            f"{mia.get('loss_ratio_auc_interval')}; no leak scores {mia.get('chance_band')} at these sizes); "
            f"{summary['seconds'] / 60:.1f} min -> {out}/summary.json")
