"""The policy's choice as one distribution: an action, and with add_constraints a constraint family.

`Joint` pairs the actor's categorical over the actions with the family head's categorical over the
constraint families (`family` is None for a policy without that head). A family is part of the
choice only where the action is add_constraints, so: its log-probability is added to the action's
at those steps alone; the entropy is H(action) + P(add_constraints) H(family); and `kl` is
KL(action) + P_old(add_constraints) KL(family), the exact KL between two such joint choices. TRPO
and PPO (`trpo.py`) optimise through these, so both heads learn from the same advantage. This
module holds no network and samples nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.distributions import Categorical, kl_divergence

NO_FAMILY = -1  # the family index of a step that chose none


@dataclass
class Joint:
    action: Categorical  # over the actions, batch [T]
    family: Categorical | None = None  # over the constraint families, batch [T]; None without a family head
    family_action: int = 0  # index of the action that takes a family (add_constraints)

    def log_prob(self, actions: torch.Tensor, families: torch.Tensor | None = None) -> torch.Tensor:
        """log P(action) plus, at add_constraints steps that chose a family, log P(family)."""
        log_prob = self.action.log_prob(actions)
        if self.family is None or families is None:
            return log_prob
        counted = (actions == self.family_action) & (families != NO_FAMILY)
        family_log_prob = self.family.log_prob(families.clamp(min=0))
        return log_prob + torch.where(counted, family_log_prob, torch.zeros_like(family_log_prob))

    def entropy(self) -> torch.Tensor:
        if self.family is None:
            return self.action.entropy()
        return self.action.entropy() + self.action.probs[..., self.family_action] * self.family.entropy()


def kl(old: Joint, new: Joint) -> torch.Tensor:
    """KL(old || new) of the joint choice, per state."""
    divergence = kl_divergence(old.action, new.action)
    if old.family is None:
        return divergence
    return divergence + old.action.probs[..., old.family_action] * kl_divergence(old.family, new.family)
