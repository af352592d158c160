"""One-step supervised fine-tuning with LoRA: trl's `SFTTrainer` on the graph's conversations.

Each conversation's last (assistant) turn is the completion and everything before it the prompt,
both rendered with the base model's own chat template; the loss covers the completion only. This
works with any chat template, unlike trl's `assistant_only_loss`, which needs `{% generation %}`
markers that most templates (SmolLM2's included) lack.

A batch's conversations are joined into one row without padding (`padding_free`, positions restart
at each conversation so attention stays within it): the loss is the padded batch's, the work is
that of the real tokens only. Where a conversation is longer than `max_length`, batches are padded
and cut as usual.

`finetune` writes into `out_dir`:
- `adapter/`: the LoRA adapter (safetensors); it loads with plain `peft.PeftModel.from_pretrained`;
- `run_card.json`: base model (its hub id, so the adapter loads elsewhere), data sha256 (of the
  conversations, and of the data file when there is one), record counts and the verification rate
  of the trained-on records, config, per-step losses and their smoothed curve, tokens and seconds,
  padded or padding-free batches;
- `adapter/README.md`: the model card made from the run card (`model_card.py`);
- `loss.png`: the training loss curve, raw and smoothed (`plots.smooth`);
- `merged/` (with `merge=True`): the base model with the adapter merged in, a plain model folder.
With `dp_epsilon` set, training is DP-SGD (`sft/private.py`): batches are padded, one conversation
per row, and each conversation's gradient is clipped before the noisy sum; the run card records the
noise multiplier and the epsilon spent.
Everything is built in a temporary folder and moved into place at the end, so an interrupted run
leaves the previous results (or nothing) behind, never a half-written adapter. This module does not
evaluate; see `teamsrl_graph.evaluation`.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..common import plots
from ..common.checks import given
from ..common.errors import InputError
from ..common.files import make_folder, move_into_place
from ..models import local
from ..common.training import base_folder, fingerprint, name_base, prompt_completion, sft_config, versions
from . import data as sft_data
from ..dataio.records import split_heldout
from .config import SFTRunConfig
from .early_stopping import KeepBest
from .model_card import provenance, write_model_card

log = logging.getLogger(__name__)


@dataclass
class FinetuneResult:
    adapter_dir: Path  # the saved LoRA adapter
    losses: list[float]  # training loss at every logging step
    train_tokens: int  # non-padding tokens the model was trained on (all epochs)
    seconds: float  # time spent in the training loop
    merged_dir: Path | None = None  # base + adapter merged, when asked for
    card: dict | None = None  # the content of run_card.json
    smoothed: list[float] | None = None  # `losses` smoothed (plots.smooth): compare its first and last

    def trained_on(self, items: list[dict]) -> list[dict]:
        return trained_on(self.card, items)


def trained_on(card: dict, items: list[dict]) -> list[dict]:
    """Those of `items` (records or conversations, matched by "id") that the run of `card` (its
    run_card.json) trained on, i.e. without the early-stopping split: a membership audit's members."""
    ids = set(card["train_ids"])
    return [item for item in items if item["id"] in ids]


def trains_embeddings(lora) -> bool:
    """Whether the adapter trains the embedding or output layer (then the adapter must carry them)."""
    from peft.utils.constants import EMBEDDING_LAYER_NAMES

    return any(name in EMBEDDING_LAYER_NAMES for name in lora.target_modules)


def split_validation(conversations: list[dict], config: SFTRunConfig) -> tuple[list[dict], list[dict]]:
    """(trained on, validation) as `finetune` splits them; no validation below 8 conversations."""
    if config.validation_fraction > 0 and len(conversations) >= 8:  # too few to spare: train on all, no stopping
        return split_heldout(conversations, config.validation_fraction, config.seed)
    return conversations, []


def longest(trainer) -> int:
    """Tokens in the longest tokenized conversation of the trainer's training and validation data."""
    sets = [trainer.train_dataset] + ([trainer.eval_dataset] if trainer.eval_dataset is not None else [])
    return max(len(ids) for dataset in sets for ids in dataset["input_ids"])


def plan_private(config: SFTRunConfig, conversations: int) -> dict | None:
    """DP-SGD's settings for a run on `conversations` (None when `dp_epsilon` is 0); the config has
    refused settings it cannot plan with."""
    if not config.dp_epsilon:
        return None
    from .private import plan  # opacus and trl load only when a run trains

    return plan(conversations, config.batch_size, config.epochs, config.dp_epsilon, config.dp_delta)


def finetune(data, out_dir: str | Path, config: SFTRunConfig | None = None, *, data_file: str | Path | None = None,
             heldout: int = 0) -> FinetuneResult:
    """Fine-tune `config.base` with LoRA on `data` (graph records, a `datasets.Dataset` or a
    dataset.jsonl path) and save the adapter, its model card, run card and loss curve into `out_dir`.

    `data_file` is the dataset.jsonl `data` was taken from (default: `data` when it is a path): the
    cards record its sha256 and read the trained-on records' verification from it; `heldout` is the
    number of records the caller kept out for evaluation, for the cards' counts."""
    import torch
    from trl import SFTTrainer

    from .private import PrivateSFTTrainer, spent

    config = given(config, SFTRunConfig)
    conversations, source = sft_data.load(data)
    conversations, validation = split_validation(conversations, config)
    private = plan_private(config, len(conversations))  # bad DP settings fail before anything is loaded
    folder = base_folder(config.base)
    out = make_folder(out_dir, "out_dir")  # one that cannot be written fails before the model loads
    model, tokenizer = local.load(folder)
    base = name_base(model, folder)  # the adapter records the hub id, not this machine's path
    if not tokenizer.chat_template:
        raise InputError(f"the model in {folder} has no chat template", field="base")
    log.info("fine-tuning %s on %d conversations (%s epochs, LoRA r=%d)", folder.name, len(conversations),
             config.epochs, config.lora.r)

    tmp = Path(tempfile.mkdtemp(prefix=".finetune-", dir=out))
    try:
        stopper = KeepBest(config.patience)

        def trainer_for(padding_free: bool):
            kind, extra = (PrivateSFTTrainer, {"noise": private["noise_multiplier"], "clip": config.dp_clip,
                                               "expected_batch": config.batch_size}) if private else (SFTTrainer, {})
            return kind(
                model=model,
                args=sft_config(config, tmp / "trainer", bf16=model.dtype == torch.bfloat16,
                                validating=bool(validation), padding_free=padding_free,
                                max_grad_norm=0.0 if private else 1.0),  # DP-SGD clips per conversation instead
                train_dataset=prompt_completion(conversations),
                eval_dataset=prompt_completion(validation) if validation else None,
                processing_class=tokenizer,
                peft_config=config.lora.peft_config(),
                callbacks=[stopper] if validation else None,
                **extra,
            )

        trainer = trainer_for(config.padding_free and not private)  # DP-SGD needs one conversation per row
        if config.padding_free and not private and config.max_length and longest(trainer) > config.max_length:  # some must be cut: padded batches cut them
            model, _ = local.load(folder)  # a fresh copy: the first trainer already wrapped this one
            name_base(model, folder)
            trainer = trainer_for(False)
        output = trainer.train()
        stopper.restore(trainer.model)  # the best evaluation's adapter, not the last one's
        logged = [h for h in trainer.state.log_history if "loss" in h]
        losses = [h["loss"] for h in logged]
        smoothed = plots.smooth(losses)
        tokens, seconds = int(trainer.state.num_input_tokens_seen), float(output.metrics["train_runtime"])
        if private:
            private["steps"] = trainer.private_steps
            private["epsilon_spent"] = round(spent(private["noise_multiplier"], private["delta"],
                                                   private["sample_rate"], trainer.private_steps), 3)

        # embeddings are saved only when trained; peft's "auto" would ask the hub about the base model
        trainer.model.save_pretrained(tmp / "adapter", save_embedding_layers=trains_embeddings(config.lora))
        card = {
            "base": base,
            "base_folder": str(folder),
            "data_source": source,
            "data_sha256": fingerprint(conversations),
            "conversations": len(conversations),
            **provenance(data, data_file, [c["id"] for c in conversations], len(validation), heldout),
            "train_ids": [c["id"] for c in conversations],
            "validation_ids": [c["id"] for c in validation],
            "validation": {"history": stopper.history, "best_epoch": stopper.best_epoch, "best_step": stopper.best_step,
                           "best_loss": None if stopper.best_epoch is None else round(stopper.best, 5)},
            "config": config.to_dict(),
            "steps": output.global_step,
            "padding_free": bool(trainer.args.padding_free),  # batches joined into one row, or padded
            "differential_privacy": private,  # None, or DP-SGD's noise, sample rate, steps and epsilon spent
            "losses": losses,
            "smoothed_losses": smoothed,
            "loss": {"first": smoothed[0], "last": smoothed[-1]} if smoothed else None,  # of the smoothed curve
            "train_tokens": tokens,
            "seconds": round(seconds, 2),
            "tokens_per_second": round(tokens / seconds, 1) if seconds else None,
            "versions": versions(),
        }
        (tmp / "run_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")
        write_model_card(tmp / "adapter", card)  # replaces peft's empty template
        plots.loss_plot(tmp / "loss.png", losses, x=[h["step"] for h in logged], name="train loss",
                        xlabel="optimizer step", ylabel="loss on the completions", title=f"LoRA SFT of {base}")
        if config.merge:
            merged = trainer.model.merge_and_unload()
            merged.save_pretrained(tmp / "merged")
            tokenizer.save_pretrained(tmp / "merged")
        for name in ("adapter", "merged", "run_card.json", "loss.png"):
            if (tmp / name).exists():
                move_into_place(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("adapter saved to %s (%d tokens in %.0f s, smoothed final loss %.3f)", out / "adapter", tokens, seconds,
             smoothed[-1] if smoothed else float("nan"))
    return FinetuneResult(out / "adapter", losses, tokens, seconds, out / "merged" if config.merge else None, card,
                          smoothed)


