"""The adapter's model card (`adapter/README.md`): what the adapter was trained on, with which
settings, and with which results, written from the run card (`run_card.json`) when a fine-tune ends
and written again with the evaluation's figures (`eval.json`) when `teamsrl eval` runs on it.

The card has the YAML header the Hugging Face hub reads (base_model, library_name: peft, tags) and
plain Markdown below it. It names files by name and hash only: no folder of this machine, no model
spec beyond a plain name, nothing from the environment. This module writes text; it does not train
or evaluate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..common.files import file_sha256, read_jsonl, write_text
from ..dataio.records import verified
from ..models.local import HUB_PATTERN

PLAIN_NAME = re.compile(r"[\w.:/-]+")  # a model spec shown as it is (no URL, no key=value settings)


def provenance(data, data_file, train_ids: list[str], validation: int, heldout: int) -> dict:
    """The run card's account of the data: the file (name, sha256), the record counts, and how many
    of the trained-on records carried constraints and how many of those are verified (`records.verified`)."""
    data_file = data_file or (data if isinstance(data, (str, Path)) else None)
    records = read_jsonl(data_file) if data_file else data if isinstance(data, list) else []
    by_id = {str(r.get("id", n)): r for n, r in enumerate(records, 1) if isinstance(r, dict)}
    checked = [verified(by_id[i]) for i in train_ids if i in by_id and by_id[i].get("constraints")]
    return {
        "data_file": {"name": Path(data_file).name, "sha256": file_sha256(data_file)} if data_file else None,
        "records": {"trained": len(train_ids), "validation": validation, "heldout": heldout},
        "verification": {"with_constraints": len(checked), "verified": sum(map(bool, checked)),
                         "rate": round(sum(map(bool, checked)) / len(checked), 4) if checked else None}
        if any("instruction" in r for r in by_id.values()) else None,  # conversations or a Dataset alone: not known
    }


def header(card: dict) -> str:
    base = card["base"]
    tags = ["lora", *trainer(card).tags, "trl", "peft", "teamsrl-graph"]
    tags += ["dp-sgd"] if card.get("differential_privacy") else []
    lines = ["---"] + ([f"base_model: {base}"] if HUB_PATTERN.fullmatch(base) else []) + [
        "library_name: peft", "pipeline_tag: text-generation", "tags:"] + [f"- {t}" for t in tags] + ["---"]
    return "\n".join(lines)


def base_name(base: str) -> str:
    """The base model as the card shows it: its hub id, else only its folder's name."""
    return base if HUB_PATTERN.fullmatch(base) else Path(base).name


def data_section(card: dict) -> list[str]:
    f, counts, check = card.get("data_file"), card.get("records") or {}, card.get("verification")
    lines = ["## Training data", ""]
    lines.append(f"- data file: `{f['name']}`, sha256 `{f['sha256']}`" if f else "- data file: none (records given in memory)")
    lines.append(f"- {trainer(card).trained_on} trained on, sha256 of their text: `{card['data_sha256']}`")
    lines.append(f"- records: {counts.get('trained', card['conversations'])} trained on, "
                 f"{counts.get('validation', len(card.get('validation_ids', [])))} validation (early stopping), "
                 f"{counts.get('heldout', 0)} held out for evaluation")
    if check is None:
        lines.append("- verification: not known (trained on conversations given without their records)")
    elif check["with_constraints"]:
        lines.append(f"- verification: {check['verified']} of the {check['with_constraints']} trained-on records with "
                     f"verifiable constraints meet them all (rate {check['rate']})")
    else:
        lines.append("- verification: no trained-on record carries verifiable constraints")
    return lines


def settings_section(card: dict) -> list[str]:
    c, lora = card["config"], card["config"]["lora"]
    return ["## Settings", "", "| setting | value |", "|---|---|",
            f"| base model | `{base_name(card['base'])}` |",
            f"| LoRA r / alpha / dropout | {lora['r']} / {lora['alpha']} / {lora['dropout']} |",
            f"| LoRA target modules | {', '.join(lora['target_modules'])} |",
            f"| learning rate | {c['learning_rate']} |",
            *trainer(card).settings(card),
            f"| seed | {c['seed']} |"]


def results_section(card: dict) -> list[str]:
    return ["## Training results", "", *trainer(card).results(card)]


def sft_settings(card: dict) -> list[str]:
    c, dp = card["config"], card.get("differential_privacy")
    privacy = (f"DP-SGD, epsilon {dp['epsilon_spent']} spent of {dp['epsilon']} (delta {dp['delta']:.2g}, noise "
               f"{dp['noise_multiplier']:.2f}, clip {c['dp_clip']})" if dp else "none")
    return [f"| epochs (most) / batch size | {c['epochs']} / {c['batch_size']} |",
            f"| max length | {c['max_length']} tokens |",
            f"| differential privacy | {privacy} |"]


def sft_results(card: dict) -> list[str]:
    loss, v = card.get("loss"), card.get("validation") or {}
    lines = [f"- training loss (smoothed) first {loss['first']:.4f}, last {loss['last']:.4f}" if loss
             else "- training loss: not logged",
             f"- {card['steps']} optimizer steps, {card['train_tokens']} tokens, {card['seconds']} s"]
    if v.get("best_epoch") is not None:
        step = f" (optimizer step {v['best_step']})" if v.get("best_step") is not None else ""
        lines.append(f"- validation loss best {v['best_loss']} at epoch {round(v['best_epoch'], 3)}{step}")
    return lines


def rlvr_settings(card: dict) -> list[str]:
    c = card["config"]
    return [f"| optimizer steps / instructions a step / answers an instruction | {c['steps']} / "
            f"{c['prompts_per_step']} / {c['num_generations']} |",
            f"| answer tokens (most) / temperature | {c['max_completion_length']} / {c['temperature']} |",
            f"| KL penalty beta | {c['kl_beta']} |",
            f"| groups whose answers all scored alike | {'left out of the step' if c.get('skip_tied') else 'kept'} |"]


def rlvr_results(card: dict) -> list[str]:
    reward = card.get("reward")
    return [f"- mean reward (share of constraints met, smoothed) first {reward['first']:.4f}, last "
            f"{reward['last']:.4f}" if reward else "- reward: not logged",
            f"- {card['steps']} optimizer steps, {card['answers_sampled']} answers sampled, {card['seconds']} s"]


@dataclass(frozen=True)
class Trainer:
    """What a card says differently for each trainer; the rest of the card is the same."""
    tags: tuple[str, ...]  # hub tags after "lora"
    intro: str  # the card's opening sentence
    trained_on: str  # what the data hash covers
    settings: Callable[[dict], list[str]]  # the trainer's own rows of the settings table
    results: Callable[[dict], list[str]]  # the training-results lines


TRAINERS = {
    "sft": Trainer(("sft",), "A LoRA adapter fine-tuned with trl's SFTTrainer on instructions evolved by teamsrl-graph "
                   "and answers checked against their verifiable constraints; the loss covers the answers only.",
                   "conversations", sft_settings, sft_results),
    "rlvr": Trainer(("grpo", "rlvr"), "A LoRA adapter trained with trl's GRPOTrainer on instructions evolved by "
                    "teamsrl-graph: it sampled its own answers, rewarded by the share of each instruction's "
                    "verifiable constraints they meet.", "instructions and constraints", rlvr_settings, rlvr_results),
}


def trainer(card: dict) -> Trainer:
    """The card's trainer (`run_card["trainer"]`: "rlvr" from `rlvr.finetune`; SFT cards before it named none)."""
    return TRAINERS[card.get("trainer", "sft")]


def eval_section(result: dict) -> list[str]:
    def pair(name, figures):
        return f"| {name} | {figures['base']} | {figures['finetuned']} |"

    lines = ["## Evaluation", "", f"On {result['records']['heldout']} held-out and {result['records']['train']} "
             f"trained-on records (losses in {result.get('loss_dtype', 'the model dtype')}).", "",
             "| figure | base | fine-tuned |", "|---|---|---|",
             pair("held-out loss", result["heldout_loss"]), pair("held-out perplexity", result["heldout_perplexity"]),
             pair("training-set loss", result["train_loss"])]
    if "reference_loss" in result:
        lines.append(pair(f"reference-answer loss ({result['reference_loss']['answers']} answers)", result["reference_loss"]))
    labels = {"heldout_constrained": "held-out constrained instructions, prompt-level strict accuracy",
              "ifbench": "IFBench, prompt-level loose accuracy"}
    for name, label in labels.items():
        if result.get(name):
            c = result[name]
            lines.append(f"| {label} ({c['n']} prompts; McNemar p = {c['p_value']:.3g}) | {c['base']:.3f} | "
                         f"{c['finetuned']:.3f} |")
    lines.append("")
    if "win_rate" in result:
        w = result["win_rate"]
        judge = w["judge"] if PLAIN_NAME.fullmatch(w["judge"] or "") else "a judge model"
        lines.append(f"- win rate of the fine-tuned over the base model: {w['win_rate']} over {w['pairs']} held-out "
                     f"instructions ({w['wins']} wins, {w['losses']} losses, {w['ties']} ties; judged by {judge})")
    m = result["membership_inference"]
    lines.append(f"- membership inference AUC (0.5 = no leak): loss {m['loss_auc']}, loss ratio {m['loss_ratio_auc']}")
    return lines


def model_card(card: dict, evaluation: dict | None = None) -> str:
    """The README.md text for the adapter of `card` (a run_card.json), with `evaluation` (an eval.json) if given."""
    name = base_name(card["base"])
    lines = [header(card), "", f"# LoRA adapter for {name}", "", trainer(card).intro, ""]
    for section in (data_section(card), settings_section(card), results_section(card),
                    eval_section(evaluation) if evaluation else ["## Evaluation", "", "Not evaluated yet (`teamsrl eval`)."]):
        lines += section + [""]
    lines += ["## Use", "", "```python", "from peft import PeftModel", "from transformers import AutoModelForCausalLM", "",
              f'model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained("{name}"), "path/to/adapter")', "```", ""]
    return "\n".join(lines)


def write_model_card(adapter_dir: str | Path, card: dict, evaluation: dict | None = None) -> Path:
    """Write `model_card(card, evaluation)` to `adapter_dir/README.md` (atomically)."""
    return write_text(Path(adapter_dir) / "README.md", model_card(card, evaluation))


def update_with_evaluation(adapter_dir: str | Path, evaluation: dict) -> Path | None:
    """Rewrite the card of an adapter saved by `finetune` (its run_card.json beside it) with `evaluation`;
    an adapter without a run card keeps its README."""
    run_card = Path(adapter_dir).parent / "run_card.json"
    if not run_card.is_file():
        return None
    return write_model_card(adapter_dir, json.loads(run_card.read_text(encoding="utf-8")), evaluation)
