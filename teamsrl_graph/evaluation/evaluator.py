"""`evaluate`: a fine-tuned adapter against its base model, on the records it was and was not trained on.

It loads the base model once with the adapter on top (switching the adapter off gives the base
model) and measures:
1. held-out loss and perplexity of the completions, base vs fine-tuned;
2. the win rate of fine-tuned over base answers on held-out instructions, judged by the reviewer
   role with positions swapped (`judge.py`);
3. a membership-inference audit: loss and loss-ratio attacks, training records as members and
   held-out records as non-members (`mia.py`);
4. optionally, held-out constrained prompts (`constrained.py`, prompt-level strict) and IFBench
   (prompt-level loose), both models answering the same prompts greedily, compared pairwise
   (`paired.py`: McNemar p-value, bootstrap interval); answers made before with the same model,
   adapter, prompts and settings come from `answer_cache`;
5. the loss of both models on the shipped reference answers.
It writes `eval.json`, `roc.png`, `answers.jsonl` (judged pairs), `constrained_answers.jsonl` and
`ifbench_answers.jsonl` into `out_dir` (each under a temporary name, renamed when complete), adds
the figures to the adapter's model card when the adapter has its fine-tune's run card beside it,
and returns the content of `eval.json`; `headline` picks the comparison numbers a summary keeps. It
does not train.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import contextmanager
from pathlib import Path

from ..common import plots, prompts
from ..common.checks import given
from ..common.files import atomic, make_folder, write_json, write_jsonl
from ..models import local
from ..sft import data as sft_data
from ..sft.model_card import update_with_evaluation
from ..common.training import base_folder
from . import answer_cache
from . import constrained as constrained_items
from . import judge as judging
from . import mia
from .config import EvalConfig
from .losses import completion_losses, mean_loss
from .paired import brief, paired

log = logging.getLogger(__name__)


def evaluate(adapter_dir, heldout_records, train_records, out_dir, config: EvalConfig | None = None) -> dict:
    """Evaluate the adapter in `adapter_dir`; records are graph records, a Dataset or a jsonl path."""
    import torch
    from peft import PeftModel

    from ..models.batching import BatchGenerator
    from ..models.factory import make_chat_model

    config = given(config, EvalConfig)  # its settings are checked when it is made
    started = time.monotonic()
    items = constrained_items.load(config.constrained) if config.constrained else []  # bad items fail before any model loads
    rows = ifbench_rows(config.ifbench)
    heldout, _ = sft_data.load(heldout_records)
    train, _ = sft_data.load(train_records)
    base = base_folder(config.base) if config.base else local.adapter_base(Path(adapter_dir))
    if config.judge:  # a bad judge spec or prompt folder fails now, not after the answers are generated
        judge = make_chat_model(config.judge, temperature=0.0, max_tokens=8)
        template = prompts.load("judge_pair", config.prompts)
    out = make_folder(out_dir, "out_dir")  # before any model loads

    def adapted(dtype=None):
        loaded, tokenizer = local.load(base, dtype=dtype)
        return PeftModel.from_pretrained(loaded, str(adapter_dir)).eval(), tokenizer

    # `scorer` gives the losses; `model` the answers, in the default dtype (a second copy only when
    # float32 losses are asked for, answers are needed and the default dtype is not float32)
    scorer, tokenizer = adapted(torch.float32 if config.loss_dtype == "float32" else None)
    answering = bool(config.ifbench or config.judge or items)
    model = adapted()[0] if answering and scorer.dtype != local.default_dtype() else scorer

    log.info("losses of %d training and %d held-out conversations, fine-tuned and base", len(train), len(heldout))
    losses = {"finetuned": {}, "base": {}}
    for name, conversations in (("train", train), ("heldout", heldout)):
        losses["finetuned"][name] = completion_losses(scorer, tokenizer, conversations, config.max_length, f"{name} (fine-tuned)")
        with scorer.disable_adapter():
            losses["base"][name] = completion_losses(scorer, tokenizer, conversations, config.max_length, f"{name} (base)")
    result = {
        "adapter": str(adapter_dir),
        "base": str(base),
        "loss_dtype": str(scorer.dtype).removeprefix("torch."),
        "records": {"train": len(train), "heldout": len(heldout)},
        "heldout_loss": {m: round(mean_loss(losses[m]["heldout"]), 4) for m in losses},
        "heldout_perplexity": {m: round(math.exp(mean_loss(losses[m]["heldout"])), 3) for m in losses},
        "train_loss": {m: round(mean_loss(losses[m]["train"]), 4) for m in losses},
    }

    if config.reference:  # answers written by people to instructions no run trains on
        result["reference_loss"] = {"base": None, "finetuned": reference_loss(scorer, tokenizer, config.max_length,
                                                                              "reference (fine-tuned)"),
                                    "answers": len(reference_conversations())}
        with scorer.disable_adapter():
            result["reference_loss"]["base"] = reference_loss(scorer, tokenizer, config.max_length, "reference (base)")
    sets = {}  # prompt sets both models answer: name -> (prompts, answer length cap)
    if items:
        sets["heldout_constrained"] = ([item["prompt"] for item in items], config.answer_tokens)
    if rows:
        sets["ifbench"] = ([row["prompt"] for row in rows], config.ifbench_tokens)
    answers = answer_both(model, tokenizer, sets, config, base, Path(adapter_dir)) if sets else {}
    if items:
        result["heldout_constrained"], answer_rows = constrained_items.score(items, answers["heldout_constrained"])
        write_jsonl(out / "constrained_answers.jsonl", answer_rows)
    if rows:
        result["ifbench"] = yardstick(rows, answers["ifbench"], out)

    scored = {name: [i for i, (_, n) in enumerate(losses["base"][name]) if n] for name in ("train", "heldout")}
    per_record = {name: {m: [losses[m][name][i][0] for i in scored[name]] for m in losses} for name in scored}
    result["membership_inference"], scores = mia.audit(per_record["train"], per_record["heldout"])
    result["record_losses"] = {name: {m: [round(x, 6) for x in v] for m, v in per_record[name].items()} for name in per_record}

    pairs = []
    if config.judge:
        sample = heldout[: config.judge_pairs]
        log.info("answering %d held-out instructions with both models", len(sample))
        generator = BatchGenerator(model, tokenizer, max_batch=config.batch_size)
        with model.disable_adapter():
            base_answers = judging.generate_answers(generator, sample, config.max_new_tokens, config.batch_size,
                                                    "answers (base)")
        with merged(model):
            finetuned = judging.generate_answers(generator, sample, config.max_new_tokens, config.batch_size,
                                                 "answers (fine-tuned)")
        log.info("judging %d answer pairs twice each with %s", len(sample), config.judge)
        instructions = [c["messages"][-2]["content"] for c in sample]
        pairs = judging.judge_pairs(judge, template, instructions, finetuned, base_answers)
        result["win_rate"] = {"judge": config.judge, **judging.win_rate(pairs)}
    result["config"] = config.to_dict()
    result["seconds"] = round(time.monotonic() - started, 1)
    _write(out, result, scores, pairs)
    update_with_evaluation(adapter_dir, result)
    return result


@contextmanager
def merged(model):
    """The adapter folded into the base weights while inside: the same model, answering 1.1-1.3x
    faster than through the LoRA layers (benchmarks/eval_speed.py). In bf16 both ways round (the
    merged weights, or the LoRA layers' outputs) and are about as far from the float32 model; the
    base model answers before this, as unmerging leaves the base weights off by rounding."""
    model.merge_adapter()
    try:
        yield model
    finally:
        model.unmerge_adapter()


def reference_conversations() -> list[dict]:
    """The shipped reference answers (`data/reference_answers.jsonl`) as conversations."""
    from importlib import resources

    return sft_data.load(Path(str(resources.files("teamsrl_graph") / "data" / "reference_answers.jsonl")))[0]


def reference_loss(model, tokenizer, max_length: int = 1024, desc: str = "reference") -> float:
    """The model's token-weighted mean loss on the shipped reference answers (4 decimals)."""
    return round(mean_loss(completion_losses(model, tokenizer, reference_conversations(), max_length, desc)), 4)


def ifbench_rows(count: int) -> list[dict]:
    """The IFBench rows an evaluation answers: `count` of a fixed shuffle, all offline-verifiable ones for -1, none for 0."""
    if not count:
        return []
    from ..constraints import yardstick as ifbench

    return ifbench.load_benchmark(None if count == -1 else count)


def answer_both(model, tokenizer, sets: dict, config: EvalConfig, base: Path, adapter: Path) -> dict:
    """{name: {"base": answers, "finetuned": answers}} for `sets` ({name: (prompts, max_new_tokens)}):
    each prompt one user turn (the responder's format), answered greedily, `config.batch_size` at a
    time. The base model answers every set first, then the adapter (folder `adapter`) is merged once
    for the rest; either side comes from `answer_cache` when an evaluation with the same model (and
    adapter files), prompts and settings made it before, as `config.cache_base` / `cache_finetuned` allow."""
    from ..models.batching import BatchGenerator
    from ..models.offline import MAX_BATCH_TOKENS

    generator = BatchGenerator(model, tokenizer, max_batch=config.batch_size)
    answers = {name: {} for name in sets}
    digest = answer_cache.adapter_sha256(adapter) if config.cache_finetuned else None  # hashed once for every set

    def answer(name: str, label: str, cache: bool, adapter_digest: str | None = None) -> list[str]:
        prompts, tokens = sets[name]

        def made() -> list[str]:
            return answer_prompts(generator, prompts, tokens, config.batch_size, f"{name} ({label})")

        if not cache:
            return made()
        settings = {"format": "user turn", "order": "longest first", "max_new_tokens": tokens, "temperature": 0.0,
                    "repetition_penalty": generator.repetition_penalty, "batch_size": config.batch_size,
                    "batch_tokens": MAX_BATCH_TOKENS, "dtype": str(model.dtype), "device": model.device.type}
        if adapter_digest:
            settings["adapter"] = "merged"  # answered with the adapter merged into the weights
        return answer_cache.cached_answers(base, prompts, settings, made, adapter_digest)[0]

    with model.disable_adapter():
        for name in sets:
            answers[name]["base"] = answer(name, "base", config.cache_base)
    with merged(model):
        for name in sets:
            answers[name]["finetuned"] = answer(name, "fine-tuned", config.cache_finetuned, digest)
    return answers


def answer_prompts(generator, prompts: list[str], max_new_tokens: int, batch_size: int, desc: str = "answers") -> list[str]:
    """The greedy answer to each prompt, asked as one user turn (the responder's format), in order."""
    asked = [{"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": ""}]} for p in prompts]
    return judging.generate_answers(generator, asked, max_new_tokens, batch_size, desc)


def ifbench_passes(results: list[dict]) -> dict[str, list[bool]]:
    """{"strict", "loose"}: whether each answer passes every instruction of its IFBench row, from the
    per-row `results` of `yardstick.score`."""
    return {mode: [all(r[mode]) for r in results] for mode in ("strict", "loose")}


def yardstick(rows: list[dict], answers: dict, out: Path) -> dict:
    """IFBench, verified by the benchmark's own checks: `paired` on prompt-level loose accuracy (the
    headline), with "strict" (paired, prompt-level strict) and each model's full "scores" beside it;
    the answers go to ifbench_answers.jsonl."""
    from ..constraints import yardstick as ifbench

    scores = {name: ifbench.score(rows, texts) for name, texts in answers.items()}
    passes = {name: ifbench_passes(s["results"]) for name, s in scores.items()}
    passed = {mode: {name: passes[name][mode] for name in scores} for mode in ("strict", "loose")}
    write_jsonl(out / "ifbench_answers.jsonl", [
        {"key": r["key"], "base": b, "finetuned": f, "base_strict": bs, "finetuned_strict": fs,
         "base_loose": bl, "finetuned_loose": fl}
        for r, b, f, bs, fs, bl, fl in zip(rows, answers["base"], answers["finetuned"], passed["strict"]["base"],
                                           passed["strict"]["finetuned"], passed["loose"]["base"],
                                           passed["loose"]["finetuned"])])
    return {**paired(passed["loose"]["base"], passed["loose"]["finetuned"]),
            "strict": paired(passed["strict"]["base"], passed["strict"]["finetuned"]),
            "scores": {name: {k: v for k, v in s.items() if k not in ("results", "by_type")} for name, s in scores.items()}}


def _write(out: Path, result: dict, scores: dict, pairs: list[dict]):
    """eval.json, roc.png and answers.jsonl, each written under a temporary name and renamed."""
    import numpy as np

    grid = np.linspace(0, 1, 201)
    curves = {}
    for name, label in (("loss", "loss attack"), ("loss_ratio", "loss ratio to base")):
        fpr, tpr = mia.roc_curve(*scores[name])
        curves[f"{label} (AUC {result['membership_inference'][name + '_auc']:.2f})"] = np.interp(grid, fpr, tpr).tolist()
    curves["chance"] = grid.tolist()
    with atomic(out / "roc.png") as tmp:
        plots.line_plot(tmp, curves, x=grid.tolist(), xlabel="false positive rate", ylabel="true positive rate",
                        title="Membership inference (members = training records)")
    if pairs:
        write_jsonl(out / "answers.jsonl", pairs)
    write_json(out / "eval.json", result)


def table(result: dict) -> str:
    """A short text table of `eval.json`."""
    rows = [("", "base", "fine-tuned"),
            ("held-out loss", result["heldout_loss"]["base"], result["heldout_loss"]["finetuned"]),
            ("held-out perplexity", result["heldout_perplexity"]["base"], result["heldout_perplexity"]["finetuned"]),
            ("training-set loss", result["train_loss"]["base"], result["train_loss"]["finetuned"])]
    lines = [f"{a:<22}{b!s:>12}{c!s:>12}" for a, b, c in rows]
    if "win_rate" in result:
        w = result["win_rate"]
        lines.append(f"win rate (fine-tuned vs base, {w['pairs']} pairs): {w['win_rate']}  "
                     f"[{w['wins']} wins, {w['losses']} losses, {w['ties']} ties; judge picks A {w['first_position_rate']}]")
    if "reference_loss" in result:
        r = result["reference_loss"]
        lines.append(f"{'reference-answer loss':<22}{r['base']!s:>12}{r['finetuned']!s:>12}   ({r['answers']} answers written by people)")
    for key, label in (("heldout_constrained", "held-out constrained, prompt-level strict"),
                       ("ifbench", "IFBench, prompt-level loose")):
        if key in result:
            lines.append(comparison_line(label, result[key]))
    m = result["membership_inference"]
    lines.append(f"membership inference AUC ({m['members']} members, {m['nonmembers']} non-members; 0.5 = no leak): "
                 f"loss {m['loss_auc']}, loss ratio {m['loss_ratio_auc']} (95% bootstrap "
                 f"{m['loss_ratio_auc_interval'][0]}-{m['loss_ratio_auc_interval'][1]}), "
                 f"base-model control {m['base_loss_control_auc']}; a model that leaked nothing scores "
                 f"{m['chance_band'][0]}-{m['chance_band'][1]} at these sizes (labels shuffled)")
    return "\n".join(lines)


def comparison_line(label: str, stats: dict) -> str:
    """One line of a `paired` result: both accuracies, the difference with its interval, the
    discordant counts and the McNemar p-value."""
    low, high = stats["interval"]
    return (f"{label} ({stats['n']} prompts): base {stats['base']:.3f}, fine-tuned {stats['finetuned']:.3f}, "
            f"difference {stats['finetuned'] - stats['base']:+.3f} (95% paired bootstrap {low:+.3f} to {high:+.3f}); "
            f"{stats['gained']} gained, {stats['lost']} lost, McNemar p = {stats['p_value']:.4g}")


def headline(result: dict) -> dict:
    """The comparison numbers a run summary keeps: {"heldout_constrained", "ifbench"} as {"n", "base",
    "finetuned", "p_value", "interval", "gained", "lost"} and "reference_loss" as {"base", "finetuned"};
    a part the evaluation skipped is None."""
    reference = result.get("reference_loss")
    return {"heldout_constrained": brief(result.get("heldout_constrained")),
            "ifbench": brief(result.get("ifbench")),
            "reference_loss": None if reference is None else {m: reference[m] for m in ("base", "finetuned")}}
