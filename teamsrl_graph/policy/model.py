"""The policy network and its file format.

`ActorCritic`: small MLPs over the state vector of `features.py` - the actor gives a categorical
distribution over the seven actions (six operations + STOP), the family head one over the
constraint families add_constraints may draw from (used only when add_constraints is chosen; see
`joint.py`), the critic a state value for TRPO's advantages. A policy file is `NAME.safetensors`
(the weights) with `NAME.json` beside it (format, version, sizes, action and family names, feature
layout, and how it was trained). Loading checks all of these and the tensor shapes, and names what
does not match. A policy without a family head (a version-2 file, or one trained with the type
draw, whose family list is empty) loads and picks no family. No pickle anywhere.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..common.errors import InputError
from ..constraints import FAMILIES
from ..evolve.actions import ACTIONS, FAMILY_OP
from ..common.weights import load_into, read_description, save
from .features import FEATURES_VERSION, feature_size
from .joint import Joint

FORMAT = "teamsrl-policy"
VERSION = 3  # 3: a head over constraint families; 2: the state vector gained drift, the reward verification and novelty
READABLE = (2, 3)  # versions this teamsrl loads (2: without the family head)


@dataclass
class PolicyConfig:
    input_size: int = field(default_factory=feature_size)  # state vector length (features.py)
    hidden_size: int = 64  # width of the actor's and the critic's hidden layer
    actions: tuple = ACTIONS  # action names, in the order of the actor's outputs
    families: tuple = FAMILIES  # constraint families, in the order of the family head's outputs; () = no family head


def _head(c: PolicyConfig, outputs: int) -> nn.Sequential:
    head = nn.Sequential(nn.Linear(c.input_size, c.hidden_size), nn.Tanh(), nn.Linear(c.hidden_size, outputs))
    with torch.no_grad():  # start close to uniform, so early updates explore every choice
        head[-1].weight.mul_(0.01)
        head[-1].bias.zero_()
    return head


class ActorCritic(nn.Module):
    def __init__(self, config: PolicyConfig | None = None):
        super().__init__()
        self.config = config or PolicyConfig()
        c = self.config
        self.actor = _head(c, len(c.actions))
        self.critic = nn.Sequential(nn.Linear(c.input_size, c.hidden_size), nn.Tanh(), nn.Linear(c.hidden_size, 1))
        # the family head exists when there are families and an action that takes one
        self.family = _head(c, len(c.families)) if c.families and FAMILY_OP in c.actions else None

    def distribution(self, x: torch.Tensor) -> torch.distributions.Categorical:
        """The actor's distribution over the actions."""
        return torch.distributions.Categorical(logits=self.actor(x))

    def policy(self, x: torch.Tensor) -> Joint:
        """The whole choice: the action and, for add_constraints, the family (`joint.py`)."""
        family = None if self.family is None else torch.distributions.Categorical(logits=self.family(x))
        return Joint(self.distribution(x), family, self.config.actions.index(FAMILY_OP) if family is not None else 0)

    def policy_parameters(self) -> list[nn.Parameter]:
        """The parameters of the choice (actor and family head), which TRPO/PPO update; not the critic's."""
        return [*self.actor.parameters(), *(self.family.parameters() if self.family is not None else ())]

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
    meta = {"format": FORMAT, "version": VERSION, "features": FEATURES_VERSION, **asdict(model.config),
            "actions": list(model.config.actions), "families": list(model.config.families), "trained": trained or {}}
    save(model, weights, config, meta)
    return weights


def _check_version(config: Path) -> int:
    """The format version of a readable description (VERSION when it names none); one this teamsrl
    cannot read is refused with what to do about it."""
    try:
        meta = json.loads(config.read_text())
    except (OSError, ValueError):
        return VERSION  # missing or broken: read_description names the problem
    version = meta.get("version") if isinstance(meta, dict) and meta.get("format") == FORMAT else None
    if version is not None and version not in READABLE:
        raise InputError(f"was written in policy format version {version}; this teamsrl reads versions "
                         f"{' and '.join(map(str, READABLE))}. Retrain it with `teamsrl train-policy` "
                         "(or leave --policy empty for the shipped one)", path=config, field="version")
    return VERSION if version is None else version


def load_policy(path: str | Path) -> ActorCritic:
    """Read a policy written by `save_policy` (or by the version before, without a family head),
    failing with an `InputError` on any mismatch."""
    weights, config = policy_paths(path)
    version = _check_version(config)
    expected = {"format": FORMAT, "version": version, "features": FEATURES_VERSION, "actions": list(ACTIONS)}
    meta = read_description(weights, config, expected)
    families = meta.get("families") if version >= 3 else []
    if families not in ([], list(FAMILIES)):  # a policy trained with the type draw has no family head
        raise InputError(f"is {families!r}, this version of teamsrl needs {list(FAMILIES)!r} or [] (no family head)",
                         path=config, field="families")
    for key in ("input_size", "hidden_size"):
        if not isinstance(meta.get(key), int) or meta[key] < 1:
            raise InputError(f"must be a positive integer, got {meta.get(key)!r}", path=config, field=key)
    if meta["input_size"] != feature_size():
        raise InputError(f"is {meta['input_size']}, the state vector has {feature_size()} values", path=config, field="input_size")
    shape = PolicyConfig(meta["input_size"], meta["hidden_size"], tuple(meta["actions"]), tuple(families))
    model = load_into(ActorCritic(shape), weights, config)
    model.trained = meta.get("trained", {})
    return model
