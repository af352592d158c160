"""`teamsrl hir`: Hindsight Instruction Relabeling of a LoRA adapter on a verifiable task or on graph records.

    teamsrl hir --task word_sorting --rounds 3 --samples 4 --out runs/hir
    teamsrl hir --data runs/graph/dataset.jsonl --rounds 2 --out runs/hir-graph

Writes OUT/adapter (loads with plain `peft.PeftModel.from_pretrained`), OUT/log.jsonl (one line per
round, with held-out accuracy), OUT/accuracy.png and OUT/config.json.
"""

from __future__ import annotations

from ..hir.config import HIRConfig
from ..hir.tasks import TASKS, make_task
from .options import add_config_options, config_values

# flag -> (HIRConfig field, type, help); defaults come from HIRConfig
OPTIONS = {
    "--task": ("task", str, "verifiable task to train on: " + ", ".join(TASKS)),
    "--difficulty": ("difficulty", int, "task difficulty"),
    "--rounds": ("rounds", int, "sampling <-> training rounds"),
    "--samples": ("samples", int, "outputs sampled per instance (k)"),
    "--prompts": ("prompts_per_round", int, "task instances sampled per round"),
    "--steps": ("steps_per_round", int, "optimizer steps per round"),
    "--lr": ("learning_rate", float, "learning rate of the adapter"),
    "--label-smoothing": ("label_smoothing", float, "label smoothing of the cross-entropy"),
    "--hindsight-weight": ("hindsight_weight", float, "weight of the cross-entropy of relabeled wrong outputs"),
    "--contrastive-weight": ("contrastive_weight", float, "weight of the contrastive term"),
    "--entropy-weight": ("entropy_weight", float, "weight of the entropy bonus"),
    "--eval-instances": ("eval_instances", int, "held-out instances scored every round"),
    "--seed": ("seed", int, "seed of the instances, the sampling and the batch order"),
}


def add_arguments(parser):
    add_config_options(parser, OPTIONS, HIRConfig)
    parser.add_argument("--subspan", action="store_true", help="also train the correct start of wrong outputs")
    parser.add_argument("--data", default=None,
                        help="graph records (DIR/dataset.jsonl) relabeled by the reviewer's verdict, instead of a task")
    parser.add_argument("--base", default="local", help='base model: "local" (embedded) or a model folder')
    parser.add_argument("--out", required=True, help="output folder")


def run(args) -> int:
    from ..hir.relabel import relabel_records
    from ..hir.trainer import HIRTrainer
    from ..models import local
    from ..files import read_jsonl
    from ..training import base_folder

    config = HIRConfig(output_dir=args.out, subspan=args.subspan, **config_values(args, OPTIONS))
    # check the task or read the records before loading the model, so bad input fails fast
    task = None if args.data else make_task(config.task, config.difficulty)
    pairs = relabel_records(read_jsonl(args.data), args.data, config.wrong_instruction) if args.data else None
    model, tokenizer = local.load(base_folder(args.base))
    trainer = HIRTrainer(config, model, tokenizer, task=task, pairs=pairs)
    history = trainer.train()
    out = trainer.save()
    print("accuracy by round: " + ", ".join(f"{e['accuracy']:.3f}" for e in history))
    print(f"adapter: {out / 'adapter'}  log: {out / 'log.jsonl'}  plot: {out / 'accuracy.png'}")
    return 0
