"""The policy's state: what the router sees of an instruction, as one float vector.

    [ MiniLM embedding of the current instruction (384, L2-normalised)
    | one-hot of the last operation (6; zeros before the first step)
    | how often each operation was applied (6, divided by max_steps)
    | step / max_steps | budget left (1 without a cap) | last step accepted | last step's score
    | cosine of the instruction to its seed (1 before it changed; low after a breadth step) ]

The embedding comes from `embeddings.py` (MiniLM, offline, cached per text). Nothing here calls an LLM.
"""

from __future__ import annotations

import torch

from ..evolve.actions import OPERATIONS, Observation
from ..common.embeddings import EMBED_DIM, Embedder, default_embedder

EXTRA = 2 * len(OPERATIONS) + 5  # last op, op counts, step share, budget left, last accepted, last score, drift
FEATURES_VERSION = 2  # bump when the layout above changes: saved policies then refuse to load


def feature_size(embed_dim: int = EMBED_DIM) -> int:
    return embed_dim + EXTRA


def history_features(obs: Observation) -> torch.Tensor:
    """The non-text part of the state, shape [EXTRA]."""
    n = len(OPERATIONS)
    x = torch.zeros(EXTRA)
    depth = max(1, obs.max_steps)
    for step in obs.history:
        if step["op"] in OPERATIONS:
            x[n + OPERATIONS.index(step["op"])] += 1 / depth
    if obs.history:
        last = obs.history[-1]
        if last["op"] in OPERATIONS:
            x[OPERATIONS.index(last["op"])] = 1
        x[2 * n + 2] = float(bool(last["accepted"]))
        x[2 * n + 3] = float(last["score"])
    x[2 * n] = obs.step / depth
    x[2 * n + 1] = 1.0 if obs.budget_left is None else float(obs.budget_left)
    return x


def state_features(observations: list[Observation], embedder: Embedder | None = None) -> torch.Tensor:
    """The policy's input for each observation, shape [len(observations), feature_size()]."""
    embedder = embedder or default_embedder()
    text = embedder([o.instruction for o in observations])
    rest = torch.stack([history_features(o) for o in observations]) if observations else torch.zeros(0, EXTRA)
    if observations:
        rest[:, -1] = (text * embedder([o.seed for o in observations])).sum(1)  # embeddings are unit length
    return torch.cat([text, rest], dim=1)
