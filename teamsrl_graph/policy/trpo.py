"""Trust Region Policy Optimization (Schulman et al., 2015) for a categorical actor-critic.

One update, given a batch of finished episodes (transitions laid out episode after episode):

1. `gae`: advantages by Generalized Advantage Estimation from the critic's values, and the
   returns the critic is then fitted to;
2. `trpo_update`: the policy gradient g of the surrogate E[pi/pi_old * A], a natural-gradient
   direction x ~ F^-1 g by `conjugate_gradient` on Fisher-vector products (the Hessian of the mean
   KL, never formed), scaled to the trust region's edge (KL = max_kl), then a backtracking line
   search that accepts the first step with KL <= max_kl and a better surrogate;
3. `fit_value`: a few Adam steps of the critic on the returns.

`ppo_update` is the clipped-ratio alternative (Schulman et al., 2017). The policy is the joint
choice of `joint.py` (an action and, with add_constraints, a constraint family): ratios, KL and
entropy are those of the joint, so the family head learns from the same advantage as the actor.
The module knows nothing about LLMs or instructions: any model with `policy(x)` (a `Joint`),
`policy_parameters()`, `value(x)` and `.critic` works. Everything is deterministic given torch's seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .joint import kl as joint_kl


@dataclass
class Batch:
    obs: torch.Tensor  # [T, F] states
    actions: torch.Tensor  # [T] action indices taken
    log_probs: torch.Tensor  # [T] their log-probability under the acting policy
    rewards: torch.Tensor  # [T]
    values: torch.Tensor  # [T] critic values of the states when acting
    dones: torch.Tensor  # [T] 1.0 at the last transition of each episode
    families: torch.Tensor | None = None  # [T] family index chosen with add_constraints, NO_FAMILY (-1) elsewhere


def gae(rewards, values, dones, gamma: float = 0.99, lam: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """(advantages, returns); an episode's end is terminal (the value after it is 0)."""
    advantages = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        alive = 1.0 - dones[t]
        next_value = values[t + 1] * alive if t + 1 < len(rewards) else 0.0
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * lam * alive * running
        advantages[t] = running
    return advantages, advantages + values


def flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def set_flat(params: list[nn.Parameter], vector: torch.Tensor):
    i = 0
    for p in params:
        p.data.copy_(vector[i : i + p.numel()].view_as(p))
        i += p.numel()


def conjugate_gradient(matvec, b: torch.Tensor, iters: int = 10, tol: float = 1e-10) -> torch.Tensor:
    """Solve A x = b for a symmetric positive definite A given only as `matvec(v) = A v`."""
    x = torch.zeros_like(b)
    r, p = b.clone(), b.clone()
    rr = r @ r
    for _ in range(iters):
        if rr < tol:
            break
        Ap = matvec(p)
        alpha = rr / (p @ Ap)
        x += alpha * p
        r -= alpha * Ap
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def normalize(advantages: torch.Tensor) -> torch.Tensor:
    return (advantages - advantages.mean()) / (advantages.std() + 1e-8) if len(advantages) > 1 else advantages


def trpo_update(model, batch: Batch, advantages: torch.Tensor, max_kl: float = 0.01, damping: float = 0.1,
                cg_iters: int = 10, backtracks: int = 10, entropy_coef: float = 0.0) -> dict:
    """One TRPO step of the policy's parameters (actor and family head); returns {"kl", "entropy",
    "improvement", "step_fraction"}."""
    params = list(model.policy_parameters())
    adv = normalize(advantages)
    with torch.no_grad():
        old = model.policy(batch.obs)

    def surrogate() -> torch.Tensor:
        joint = model.policy(batch.obs)
        ratio = torch.exp(joint.log_prob(batch.actions, batch.families) - batch.log_probs)
        return (ratio * adv).mean() + entropy_coef * joint.entropy().mean()

    def mean_kl() -> torch.Tensor:
        return joint_kl(old, model.policy(batch.obs)).mean()

    def fisher_vector(v: torch.Tensor) -> torch.Tensor:
        grads = torch.autograd.grad(mean_kl(), params, create_graph=True)
        return flat(torch.autograd.grad(flat(grads) @ v, params)) + damping * v

    loss = surrogate()
    g = flat(torch.autograd.grad(loss, params))
    stats = {"kl": 0.0, "improvement": 0.0, "step_fraction": 0.0}
    if g.abs().max() > 0:
        direction = conjugate_gradient(fisher_vector, g, cg_iters)
        curvature = direction @ fisher_vector(direction)
        full_step = direction * torch.sqrt(2 * max_kl / curvature.clamp(min=1e-12))
        start = flat(p.detach() for p in params)
        with torch.no_grad():
            for i in range(backtracks):
                fraction = 0.5**i
                set_flat(params, start + fraction * full_step)
                kl, improvement = mean_kl().item(), (surrogate() - loss).item()
                if kl <= max_kl and improvement > 0:
                    stats = {"kl": kl, "improvement": improvement, "step_fraction": fraction}
                    break
            else:
                set_flat(params, start)  # no acceptable step: keep the old policy
    with torch.no_grad():
        stats["entropy"] = model.policy(batch.obs).entropy().mean().item()
    return stats


def fit_value(model, obs: torch.Tensor, returns: torch.Tensor, iters: int = 50, lr: float = 1e-2) -> float:
    """Regress `model.critic` on the returns (full-batch Adam); returns the final mean squared error."""
    optimizer = torch.optim.Adam(model.critic.parameters(), lr=lr)
    for _ in range(iters):
        loss = (model.value(obs) - returns).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return (model.value(obs) - returns).pow(2).mean().item()


def ppo_update(model, batch: Batch, advantages: torch.Tensor, clip: float = 0.2, epochs: int = 10, lr: float = 3e-3,
               entropy_coef: float = 0.0) -> dict:
    """Clipped-surrogate PPO epochs on the policy's parameters (full batch); same stats as `trpo_update`."""
    adv = normalize(advantages)
    with torch.no_grad():
        old = model.policy(batch.obs)
    optimizer = torch.optim.Adam(model.policy_parameters(), lr=lr)
    for _ in range(epochs):
        joint = model.policy(batch.obs)
        ratio = torch.exp(joint.log_prob(batch.actions, batch.families) - batch.log_probs)
        objective = torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
        loss = -(objective + entropy_coef * joint.entropy().mean())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        joint = model.policy(batch.obs)
        return {"kl": joint_kl(old, joint).mean().item(),
                "entropy": joint.entropy().mean().item(), "improvement": 0.0, "step_fraction": 1.0}
