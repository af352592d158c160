"""A cache of greedy answers, so that evaluating several adapters of one base model answers the same
benchmark prompts with the base model once, and an evaluation that was stopped part way (or is run
again) does not answer again what an adapter already answered.

The key covers everything the answers depend on: the base model's folder and its weight,
configuration and tokenizer files (name, size and modification time; the chat template among them),
for an adapter's answers the sha256 of the adapter's own files (`adapter_sha256`: its content,
wherever it lies; the caller hashes an adapter once for all its answer sets), the
prompts, the generation settings and the library versions. An entry is one JSON file under
`<cache dir>/answers/`, written atomically; a damaged entry is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from ..common.files import write_json
from ..models.local import cache_dir

log = logging.getLogger(__name__)
MODEL_FILES = (".safetensors", ".bin", ".json", ".jinja", ".txt", ".model")  # weights, configs, tokenizer, chat template


def key(base: Path, prompts: list[str], settings: dict, adapter: str | None = None) -> str:
    """The cache key of the base model in folder `base` (with on top, if given, the LoRA adapter whose
    `adapter_sha256` is `adapter`) answering `prompts` under `settings`."""
    import torch
    import transformers

    weights = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                     for p in Path(base).iterdir() if p.suffix in MODEL_FILES)
    material = {"base": str(Path(base).resolve()), "weights": weights, "prompts": prompts, "settings": settings,
                "versions": [torch.__version__, transformers.__version__]}
    if adapter is not None:
        material["adapter"] = adapter
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()


def adapter_sha256(adapter: Path) -> str:
    """The sha256 of an adapter folder's weight and configuration files, names and contents."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(adapter).iterdir() if p.is_file() and p.suffix in MODEL_FILES):
        digest.update(path.name.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def path_of(entry: str) -> Path:
    return cache_dir() / "answers" / f"{entry}.json"


def load(entry: str, count: int) -> list[str] | None:
    """The cached answers of `entry`, or None when there are none (or they are damaged)."""
    path = path_of(entry)
    try:
        answers = json.loads(path.read_text(encoding="utf-8"))["answers"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(answers, list) or len(answers) != count or not all(isinstance(a, str) for a in answers):
        log.warning("ignoring a damaged cache entry %s", path)
        return None
    return answers


def store(entry: str, answers: list[str]):
    path_of(entry).parent.mkdir(parents=True, exist_ok=True)
    write_json(path_of(entry), {"answers": answers})


def cached_answers(base: Path, prompts: list[str], settings: dict, produce,
                   adapter: str | None = None) -> tuple[list[str], bool]:
    """`produce()`'s answers for `prompts` (the base model's, or with the adapter whose
    `adapter_sha256` is `adapter` on top, that model's), from the cache when present; returns
    (answers, from_cache)."""
    entry = key(base, prompts, settings, adapter)
    answers = load(entry, len(prompts))
    if answers is not None:
        log.info("%s answers to %d prompts from the cache (%s)", "the adapter's" if adapter else "base-model",
                 len(prompts), path_of(entry))
        return answers, True
    answers = produce()
    store(entry, answers)
    return answers, False
