"""Several models against one baseline on the same evaluation prompts: each model's answers to every
prompt set, each answer's verdict, and the paired comparison of a model's verdicts with the baseline's.

The sets are the held-out constrained instructions ("heldout_constrained": every constraint met,
strict) and IFBench ("ifbench": every instruction of the row met, loose), the main job's headline
measures. `answer_sets` answers both greedily (an adapter merged in, as `evaluate` answers) and adds
the loss on the shipped reference answers; `verdicts` turns answers into pass/fail per prompt;
`compare` pairs two models' verdicts (`paired`: gained / lost, exact McNemar p). Unlike `evaluate`,
nothing here is tied to one adapter and its base: any answers can be the baseline, such as the
original answers that two improvers start from. `load` gives a base model with an adapter on top to
answer with. It writes nothing.
"""

from __future__ import annotations

SETS = ("heldout_constrained", "ifbench")  # the prompt sets, in the order they are answered


def answer_sets(model, tokenizer, sets: dict[str, list[str]], max_new_tokens: int, name: str,
                batch_size: int = 32) -> dict:
    """{set: greedy answers, ..., "reference_loss": loss on the reference answers} for `model`
    (a PEFT model answers with its adapter merged in)."""
    from contextlib import nullcontext

    from ..models.batching import BatchGenerator
    from .evaluator import answer_prompts, merged, reference_loss

    with merged(model) if hasattr(model, "merge_adapter") else nullcontext():
        generator = BatchGenerator(model, tokenizer, max_batch=batch_size)
        answers = {s: answer_prompts(generator, prompts, max_new_tokens, batch_size, f"{s} ({name})") if prompts else []
                   for s, prompts in sets.items()}
        answers["reference_loss"] = reference_loss(model, tokenizer, desc=f"reference ({name})")
    return answers


def verdicts(answers: dict, items: list[dict], rows: list[dict]) -> dict[str, list[bool]]:
    """Pass or fail per prompt: of `items` ({"prompt", "constraints"}), every constraint met (strict);
    of the IFBench `rows`, every instruction met (loose). A set left unanswered (no answers) has none."""
    from ..constraints import verify
    from .evaluator import ifbench_passes

    held = answers["heldout_constrained"]
    out = {"heldout_constrained": [verify(a, item["constraints"])["strict"] for item, a in zip(items, held, strict=True)]
           if held else [], "ifbench": []}
    if rows and answers["ifbench"]:
        from ..constraints import yardstick

        out["ifbench"] = ifbench_passes(yardstick.score(rows, answers["ifbench"])["results"])["loose"]
    return out


def compare(baseline: dict[str, list[bool]], method: dict[str, list[bool]]) -> dict:
    """`paired(baseline, method)` of each set; None for a set one side has no verdicts on."""
    from .paired import paired

    return {s: paired(baseline[s], method[s]) if baseline[s] and method[s] else None for s in SETS}


def load(folder, adapter=None):
    """(model, tokenizer) of the base model in `folder`, with the LoRA adapter in folder `adapter` on
    top when given (answer_sets merges it in while answering)."""
    from ..models import local

    model, tokenizer = local.load(folder)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter)).eval()
    return model, tokenizer
