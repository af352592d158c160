"""`PolicyRouter`: the trained policy as a graph `Router` (`--router policy`).

It embeds the observation (features.py), runs the actor and samples an action (the default) with
randomness derived from (run seed, instruction index, step), so a run is reproducible whatever order
its branches execute in; with `greedy=True` it returns the most likely action instead. When the
action is add_constraints and the policy has a family head, it picks a constraint family the same
way and returns "add_constraints:FAMILY" (`actions.split_action`); a policy without that head
(format version 2, or trained with the type draw, as the shipped one is), or one built with
`families=False`, names no family and leaves the type to the run's type draw (asked for families
that a policy cannot name, it logs a warning when built). Without a path it loads the
policy shipped in the package (`teamsrl_graph/data/policy.safetensors`).
"""

from __future__ import annotations

import hashlib
import logging
from importlib import resources
from pathlib import Path

import torch

from ..evolve.actions import Observation, join_action
from .features import Embedder, default_embedder, state_features
from .model import ActorCritic, load_policy

log = logging.getLogger("teamsrl.policy")


def shipped_policy_path() -> Path:
    return Path(str(resources.files("teamsrl_graph") / "data" / "policy.safetensors"))


class PolicyRouter:
    def __init__(self, policy: str | Path | ActorCritic | None = None, *, greedy: bool = False, seed: int = 0,
                 embedder: Embedder | None = None, families: bool = True):
        self.model = policy if isinstance(policy, ActorCritic) else load_policy(policy or shipped_policy_path())
        self.model.eval()
        self.actions = self.model.config.actions
        self.greedy, self.seed = greedy, seed
        self.families = families  # name the family head's choice with add_constraints; False: the type draw picks
        if families and self.model.family is None:
            log.warning("this policy has no family head (trained with the type draw): it names no constraint family, "
                        "and the run's type draw picks every constraint type")
        self.embedder = embedder or default_embedder()  # loaded now, once, not by racing graph branches

    @torch.no_grad()
    def probabilities(self, obs: Observation) -> dict[str, float]:
        probs = self.model.distribution(state_features([obs], self.embedder)).probs[0]
        return dict(zip(self.actions, probs.tolist()))

    @torch.no_grad()
    def family_probabilities(self, obs: Observation) -> dict[str, float]:
        """P(family | add_constraints) per constraint family; {} for a policy without a family head."""
        family = self.model.policy(state_features([obs], self.embedder)).family
        return {} if family is None else dict(zip(self.model.config.families, family.probs[0].tolist()))

    @torch.no_grad()
    def __call__(self, obs: Observation) -> str:
        joint = self.model.policy(state_features([obs], self.embedder))
        key = int.from_bytes(hashlib.sha256(f"{self.seed}:{obs.index}:{obs.step}".encode()).digest()[:8], "little")
        generator = torch.Generator().manual_seed(key)

        def pick(probs: torch.Tensor) -> int:
            return int(probs.argmax()) if self.greedy else int(torch.multinomial(probs, 1, generator=generator))

        action = pick(joint.action.probs[0])
        if joint.family is None or not self.families or action != joint.family_action:
            return self.actions[action]
        return join_action(self.actions[action], self.model.config.families[pick(joint.family.probs[0])])
