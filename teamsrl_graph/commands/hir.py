"""`teamsrl hir`: Hindsight Instruction Relabeling of a LoRA adapter on a verifiable task or on graph records.

    teamsrl hir --task word_sorting --rounds 3 --samples 4 --out runs/hir
    teamsrl hir --data runs/graph/dataset.jsonl --rounds 2 --out runs/hir-graph

With --data, records that carry verifiable constraints are sampled every round and each answer is
relabeled to the constraints it satisfies (`hir.constrained`; a share of them is held out and scored
by the verifiers); records without any are relabeled once by the reviewer's verdict.
Writes OUT/adapter (loads with plain `peft.PeftModel.from_pretrained`), OUT/log.jsonl (one line per
round, with held-out accuracy), OUT/accuracy.png and OUT/config.json.
"""

from __future__ import annotations

from ..common.errors import InputError
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
    "--answer-tokens": ("answer_tokens", int, "new-token cap of an answer to a constrained instruction"),
    "--heldout": ("heldout_fraction", float, "share of constrained records held out for scoring"),
    "--seed": ("seed", int, "seed of the instances, the sampling and the batch order"),
}


def add_arguments(parser):
    add_config_options(parser, OPTIONS, HIRConfig)
    parser.add_argument("--subspan", action="store_true", help="also train the correct start of wrong outputs")
    parser.add_argument("--balance", action="store_true", help="as many relabeled pairs as original ones per batch")
    parser.add_argument("--data", default=None,
                        help="graph records (DIR/dataset.jsonl) instead of a task: relabeled by their constraints "
                             "when they carry any, else by the reviewer's verdict")
    parser.add_argument("--base", default="local", help='base model: "local" (embedded) or a model folder')
    parser.add_argument("--out", required=True, help="output folder")


def run(args) -> int:
    from ..common.files import make_folder
    from ..hir.trainer import HIRTrainer
    from ..models import local
    from ..common.training import base_folder

    config = HIRConfig(output_dir=args.out, subspan=args.subspan, balance=args.balance, **config_values(args, OPTIONS))
    task, pairs = training_data(args.data, config)  # bad input fails before the model loads
    make_folder(args.out)  # ... and a place that takes no file, before the training instead of after it
    model, tokenizer = local.load(base_folder(args.base))
    trainer = HIRTrainer(config, model, tokenizer, task=task, pairs=pairs)
    history = trainer.train()
    out = trainer.save()
    print("accuracy by round: " + ", ".join(f"{e['accuracy']:.3f}" for e in history))
    print(f"adapter: {out / 'adapter'}  log: {out / 'log.jsonl'}  plot: {out / 'accuracy.png'}")
    return 0


def training_data(data: str | None, config: HIRConfig):
    """(task, fixed pairs) for the trainer: the named task; constrained records as a task; or the
    reviewer-relabeled pairs of records without constraints."""
    from ..common.files import read_jsonl
    from ..hir.constrained import ConstrainedTask, from_records
    from ..hir.relabel import relabel_records
    from ..dataio.records import split_heldout

    if not data:
        return make_task(config.task, config.difficulty), None
    records = read_jsonl(data)
    if any(isinstance(r, dict) and r.get("constraints") for r in records):
        items = from_records(records, data)
        if len(items) < 2:
            raise InputError(f"only {len(items)} record carries constraints; at least 2 are needed (train and held out)",
                             path=data, field="constraints")
        train, heldout = split_heldout(items, config.heldout_fraction or 0.2, config.seed)
        return ConstrainedTask(train, heldout, config.answer_tokens), None
    return None, relabel_records(records, data, config.wrong_instruction)
