"""`PolicyRouter`: the trained policy as a graph `Router` (`--router policy`).

It embeds the observation (features.py), runs the actor and samples an action (the default) with
randomness derived from (run seed, instruction index, step), so a run is reproducible whatever order
its branches execute in; with `greedy=True` it returns the most likely action instead. Without a path it loads the
policy shipped in the package (`teamsrl_graph/data/policy.safetensors`).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import torch

from ..evolve.actions import Observation
from .features import Embedder, default_embedder, state_features
from .model import ActorCritic, load_policy


def shipped_policy_path() -> Path:
    return Path(str(resources.files("teamsrl_graph") / "data" / "policy.safetensors"))


class PolicyRouter:
    def __init__(self, policy: str | Path | ActorCritic | None = None, *, greedy: bool = False, seed: int = 0,
                 embedder: Embedder | None = None):
        self.model = policy if isinstance(policy, ActorCritic) else load_policy(policy or shipped_policy_path())
        self.model.eval()
        self.actions = self.model.config.actions
        self.greedy, self.seed = greedy, seed
        self.embedder = embedder or default_embedder()  # loaded now, once, not by racing graph branches

    @torch.no_grad()
    def probabilities(self, obs: Observation) -> dict[str, float]:
        probs = self.model.distribution(state_features([obs], self.embedder)).probs[0]
        return dict(zip(self.actions, probs.tolist()))

    @torch.no_grad()
    def __call__(self, obs: Observation) -> str:
        x = state_features([obs], self.embedder)
        logits = self.model.actor(x)[0]
        if self.greedy:
            return self.actions[int(logits.argmax())]
        key = int.from_bytes(hashlib.sha256(f"{self.seed}:{obs.index}:{obs.step}".encode()).digest()[:8], "little")
        generator = torch.Generator().manual_seed(key)
        return self.actions[int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator))]
