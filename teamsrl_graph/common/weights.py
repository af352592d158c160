"""Small torch modules on disk: weights in safetensors, a JSON description beside them.

`save` writes both under temporary names and renames them, so a reader never sees half a model.
`read_description` and `load_into` check what they read (files exist, JSON parses, format and
version match, tensor names and shapes fit the module) and name the file and field of any mismatch
in an `InputError`. Never pickle. The policy network and the PIT gap model use this; LoRA adapters
are saved by peft.
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import InputError
from .files import atomic, write_json


def save(module, weights: Path, description: Path, meta: dict):
    """Write `module`'s state dict to `weights` and `meta` to `description`, each atomically."""
    from safetensors.torch import save_file

    weights.parent.mkdir(parents=True, exist_ok=True)
    with atomic(weights) as tmp:
        save_file({k: v.detach().contiguous() for k, v in module.state_dict().items()}, str(tmp))
    write_json(description, meta)


def read_description(weights: Path, description: Path, expected: dict) -> dict:
    """The JSON description, once both files exist and every `expected` key has its value."""
    for p in (description, weights):
        if not p.is_file():
            raise InputError("no such file", path=p)
    try:
        meta = json.loads(description.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON ({error.msg})", path=description, line=error.lineno) from None
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 ({error.reason})", path=description) from None
    if not isinstance(meta, dict):
        raise InputError("expected a JSON object", path=description)
    for key, value in expected.items():
        if meta.get(key) != value:
            raise InputError(f"is {meta.get(key)!r}, this version of teamsrl needs {value!r}", path=description, field=key)
    return meta


def load_into(module, weights: Path, description: Path):
    """Load `weights` into `module` (float32), after checking tensor names and shapes; returns it in eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as error:
        raise InputError(f"not a readable safetensors file ({error})", path=weights) from None
    want = module.state_dict()
    if set(tensors) != set(want):
        raise InputError(f"holds tensors {sorted(tensors)}, expected {sorted(want)}", path=weights)
    for name, tensor in tensors.items():
        if tensor.shape != want[name].shape:
            raise InputError(f"tensor {name} has shape {tuple(tensor.shape)}, {description.name} implies "
                             f"{tuple(want[name].shape)}", path=weights)
    module.load_state_dict({k: v.float() for k, v in tensors.items()})
    return module.eval()
