"""The main job's RL fine-tune: GRPO rewarded by the verifiers (`train_rlvr`) on the constrained
instructions of the graph's records, saved the way `sft.finetune` saves its adapter.

Only a record's instruction (with its input) and its constraints are trained on: GRPO samples its
own answers and the registry's strict verifiers score them, so the graph's answer to the record
is not used. `finetune_rlvr` writes into `out_dir`:
- `adapter/`: the LoRA adapter (safetensors), with its model card `adapter/README.md`;
- `run_card.json`: base model, data sha256, the trained-on records (`train_ids`), settings, the
  mean reward of every optimizer step and its smoothed curve, seconds (`"trainer": "rlvr"`);
- `reward.png`: the mean reward per optimizer step, raw and smoothed.
Everything is built in a temporary folder and moved into place at the end, as `sft.finetune` does,
so `teamsrl eval` and the main job read either trainer's output alike. This module does not evaluate.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

from ..common import plots
from ..common.checks import given, listed
from ..common.errors import InputError
from ..common.files import make_folder, move_into_place
from ..common.training import base_folder, name_base, versions
from ..constraints import validate
from ..dataio.records import prompt_of
from ..models import local
from ..sft.model_card import provenance, write_model_card
from ..sft.trainer import FinetuneResult, trains_embeddings
from .config import RLVRConfig
from .trainer import items_sha256, train_rlvr

log = logging.getLogger(__name__)


def instructions(records: list[dict]) -> list[dict]:
    """{"id", "prompt", "constraints"} of every record whose instruction carries a constraint."""
    return [{"id": str(r["id"]), "prompt": prompt_of(r), "constraints": r["constraints"]}
            for r in records if r.get("constraints") and str(r.get("instruction") or "").strip()]


def refuse_privacy(dp_epsilon: float) -> None:
    """DP-SGD is a supervised fine-tune's option: an rlvr run asked for it is an InputError."""
    if dp_epsilon:
        raise InputError("DP-SGD is a supervised fine-tune's; rlvr does not take --dp-epsilon", field="--dp-epsilon")


def outside(records: list[dict], held: list[dict]) -> list[dict]:
    """The `records` whose id is not among the held-out ones' (`held`: records or conversations)."""
    ids = {str(h["id"]) for h in held}
    return [r for r in records if str(r.get("id")) not in ids]


def finetune_rlvr(records: list[dict], out_dir: str | Path, config: RLVRConfig | None = None, *,
                  data_file: str | Path | None = None, heldout: int = 0) -> FinetuneResult:
    """Train a LoRA adapter of `config.base` with GRPO on the constrained instructions of `records` and
    save it, its cards and its reward curve into `out_dir`. `data_file` (the dataset.jsonl the records
    came from) and `heldout` (records the caller kept out) are for the cards, as in `sft.finetune`."""
    config = given(config, RLVRConfig)
    records = listed(records, "records", "a list of records")
    items = instructions(records)
    if not items:
        raise InputError(f"none of the {len(records)} records carries a constraint to reward answers by",
                         field="constraints")
    for item in items:  # a malformed constraint is refused before the model loads, naming its record
        try:
            validate(item["constraints"])
        except InputError as error:
            raise InputError(f"record {item['id']!r}: {error.message}", path=data_file or "<records>",
                             field=error.field) from None
    folder = base_folder(config.base)
    out = make_folder(out_dir, "out_dir")  # one that cannot be written fails before the model loads
    model, tokenizer = local.load(folder)
    base_name = name_base(model, folder)
    log.info("RLVR fine-tune of %s on %d constrained instructions: %d steps x %d instructions x %d answers",
             folder.name, len(items), config.steps, config.prompts_per_step, config.num_generations)
    tmp = Path(tempfile.mkdtemp(prefix=".finetune-", dir=out))
    try:
        started = time.monotonic()
        trained = [{k: i[k] for k in ("prompt", "constraints")} for i in items]
        model, history, steps = train_rlvr(trained, config, model, tokenizer)
        seconds = time.monotonic() - started
        rewards = [h["reward"] for h in history]
        smoothed = plots.smooth(rewards)
        # embeddings are saved only when trained; peft's "auto" would ask the hub about the base model
        model.save_pretrained(tmp / "adapter", save_embedding_layers=trains_embeddings(config.lora))
        ids = [i["id"] for i in items]
        card = {
            "trainer": "rlvr",
            "base": base_name,
            "base_folder": str(folder),
            "data_source": str(data_file) if data_file else "<records>",
            "data_sha256": items_sha256(trained),  # as a checkpoint folder names them (`trainer.claim`)
            "conversations": len(items),
            **provenance(records, data_file, ids, 0, heldout),
            "train_ids": ids,
            "validation_ids": [],
            "validation": None,
            "config": config.to_dict(),
            "steps": steps,
            "differential_privacy": None,
            "rewards": rewards,
            "smoothed_rewards": smoothed,
            "reward": {"first": smoothed[0], "last": smoothed[-1]} if smoothed else None,  # of the smoothed curve
            "tied_groups": [h["tied_groups"] for h in history],  # per step: groups whose answers all scored alike
            "answers_sampled": steps * config.prompts_per_step * config.num_generations,
            "seconds": round(seconds, 2),
            "versions": versions(),
        }
        (tmp / "run_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")
        write_model_card(tmp / "adapter", card)
        plots.loss_plot(tmp / "reward.png", rewards, x=[h["step"] for h in history], name="mean reward",
                        xlabel="optimizer step", ylabel="share of constraints met",
                        title=f"RLVR (GRPO) of {base_name}")
        for name in ("adapter", "run_card.json", "reward.png"):
            move_into_place(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("adapter saved to %s (%d steps in %.0f s, smoothed mean reward %.3f -> %.3f)", out / "adapter", steps,
             seconds, smoothed[0] if smoothed else float("nan"), smoothed[-1] if smoothed else float("nan"))
    return FinetuneResult(out / "adapter", [], 0, seconds, None, card, [])
