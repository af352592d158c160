"""The policy network and its file format.

`ActorCritic`: two small MLPs over the state vector of `features.py` - the actor gives a categorical
distribution over the seven actions (six operations + STOP), the critic a state value for TRPO's
advantages. A policy file is `NAME.safetensors` (the weights) with `NAME.json` beside it (format,
version, sizes, action names, feature layout, and how it was trained). Loading checks all of these
and the tensor shapes, and names what does not match. No pickle anywhere.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..common.errors import InputError
from ..evolve.actions import ACTIONS
from ..common.weights import load_into, read_description, save
from .features import FEATURES_VERSION, feature_size

FORMAT = "teamsrl-policy"
VERSION = 2  # 2: the state vector gained the instruction's drift from its seed; the reward gained verification and novelty


@dataclass
class PolicyConfig:
    input_size: int = field(default_factory=feature_size)  # state vector length (features.py)
    hidden_size: int = 64  # width of the actor's and the critic's hidden layer
    actions: tuple = ACTIONS  # action names, in the order of the actor's outputs


class ActorCritic(nn.Module):
    def __init__(self, config: PolicyConfig | None = None):
        super().__init__()
        self.config = config or PolicyConfig()
        c = self.config
        self.actor = nn.Sequential(nn.Linear(c.input_size, c.hidden_size), nn.Tanh(), nn.Linear(c.hidden_size, len(c.actions)))
        self.critic = nn.Sequential(nn.Linear(c.input_size, c.hidden_size), nn.Tanh(), nn.Linear(c.hidden_size, 1))
        with torch.no_grad():  # start close to uniform, so early updates explore every action
            self.actor[-1].weight.mul_(0.01)
            self.actor[-1].bias.zero_()

    def distribution(self, x: torch.Tensor) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.actor(x))

    def value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x).squeeze(-1)


def policy_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, config) for a policy given as NAME, NAME.safetensors or NAME.json."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


def save_policy(model: ActorCritic, path: str | Path, trained: dict | None = None) -> Path:
    """Write NAME.safetensors + NAME.json (each to a temporary name first); returns the weights path."""
    weights, config = policy_paths(path)
    meta = {"format": FORMAT, "version": VERSION, "features": FEATURES_VERSION,
            **asdict(model.config), "actions": list(model.config.actions), "trained": trained or {}}
    save(model, weights, config, meta)
    return weights


def _check_version(config: Path):
    """A readable description of another format version is refused with what to do about it."""
    try:
        meta = json.loads(config.read_text())
    except (OSError, ValueError):
        return  # missing or broken: read_description names the problem
    version = meta.get("version") if isinstance(meta, dict) and meta.get("format") == FORMAT else None
    if version is not None and version != VERSION:
        raise InputError(f"was written in policy format version {version}; this teamsrl reads version {VERSION}. "
                         "Retrain it with `teamsrl train-policy` (or leave --policy empty for the shipped one)",
                         path=config, field="version")


def load_policy(path: str | Path) -> ActorCritic:
    """Read a policy written by `save_policy`, failing with an `InputError` on any mismatch."""
    weights, config = policy_paths(path)
    _check_version(config)
    expected = {"format": FORMAT, "version": VERSION, "features": FEATURES_VERSION, "actions": list(ACTIONS)}
    meta = read_description(weights, config, expected)
    for key in ("input_size", "hidden_size"):
        if not isinstance(meta.get(key), int) or meta[key] < 1:
            raise InputError(f"must be a positive integer, got {meta.get(key)!r}", path=config, field=key)
    if meta["input_size"] != feature_size():
        raise InputError(f"is {meta['input_size']}, the state vector has {feature_size()} values", path=config, field="input_size")
    model = load_into(ActorCritic(PolicyConfig(meta["input_size"], meta["hidden_size"], tuple(meta["actions"]))),
                      weights, config)
    model.trained = meta.get("trained", {})
    return model
