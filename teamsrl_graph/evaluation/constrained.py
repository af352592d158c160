"""Held-out constrained prompts: reading them, and scoring two models' answers to them.

An item is `{"prompt": str, "constraints": [{"id", "kwargs"}, ...]}` (the constraint registry's
ids, `teamsrl_graph.constraints`); a file holds one item per line. `load` checks every item and
names the file, line and field of the first bad one. `score` verifies each answer with
`constraints.verify` and compares the models with `paired`: prompt-level strict (every constraint
met as written) is the headline, prompt-level loose next to it, and a breakdown per constraint
type (of the items carrying that type, whether that one constraint was met, strict). Generating
the answers is the evaluator's job, not this module's.
"""

from __future__ import annotations

from pathlib import Path

from ..constraints import validate, verify
from ..common.errors import InputError
from ..common.files import read_objects
from .paired import paired


def load(source) -> list[dict]:
    """The items of a JSONL file (str or Path) or of a list of dicts, checked, as plain copies."""
    if isinstance(source, (str, Path)):
        numbered, path = list(read_objects(source)), source
    else:
        numbered, path = list(enumerate(source, 1)), "<constrained items>"
    if not numbered:
        raise InputError("no constrained items", path=path)
    items = []
    for line, item in numbered:
        if not isinstance(item, dict):
            raise InputError("an item must be an object with 'prompt' and 'constraints'", path=path, line=line)
        if not isinstance(item.get("prompt"), str) or not item["prompt"].strip():
            raise InputError("missing or not a non-empty string", path=path, line=line, field="prompt")
        if not item.get("constraints"):
            raise InputError("an item needs at least one constraint", path=path, line=line, field="constraints")
        validate(item["constraints"], path=path, line=line)
        items.append({"prompt": item["prompt"], "constraints": [
            {"id": c["id"], "kwargs": dict(c.get("kwargs", {}))} for c in item["constraints"]]})
    return items


def score(items: list[dict], answers: dict[str, list[str]]) -> tuple[dict, list[dict]]:
    """(report, rows): `answers` maps "base" and "finetuned" to one answer per item. The report is
    `paired` on prompt-level strict plus {"loose": paired on loose, "by_type": {id: paired}}; the
    rows (one per item) hold the prompt, both answers and both verdicts, for the answers file."""
    verdicts = {model: [verify(text, item["constraints"]) for item, text in zip(items, texts)]
                for model, texts in answers.items()}
    base, tuned = verdicts["base"], verdicts["finetuned"]
    report = {**paired([v["strict"] for v in base], [v["strict"] for v in tuned]),
              "loose": paired([v["loose"] for v in base], [v["loose"] for v in tuned])}
    per_type: dict[str, tuple[list, list]] = {}
    for b, f in zip(base, tuned):
        for rb, rf in zip(b["results"], f["results"]):
            pair = per_type.setdefault(rb["id"], ([], []))
            pair[0].append(rb["strict"])
            pair[1].append(rf["strict"])
    report["by_type"] = {t: paired(*per_type[t]) for t in sorted(per_type)}
    rows = [{"prompt": item["prompt"], "constraints": item["constraints"],
             "base": answers["base"][i], "finetuned": answers["finetuned"][i],
             "base_strict": base[i]["strict"], "finetuned_strict": tuned[i]["strict"],
             "base_loose": base[i]["loose"], "finetuned_loose": tuned[i]["loose"]}
            for i, item in enumerate(items)]
    return report, rows
