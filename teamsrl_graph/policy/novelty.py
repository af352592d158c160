"""Novelty of an instruction against those a run has kept: 1 - cosine similarity (MiniLM) to the
nearest one. A paraphrase of a kept instruction scores near 0, a task on another subject near 1.
Thread safe (the training environment scores its episodes in threads). It calls no LLM."""

from __future__ import annotations

import threading

import torch


class Novelty:
    def __init__(self, embedder):
        self.embedder, self.lock = embedder, threading.Lock()
        self.kept: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.kept)

    def of(self, text: str) -> float:
        """1 - the largest cosine to a kept instruction, in [0, 1] (1 when nothing is kept yet)."""
        vector = self.embedder([text])[0]
        with self.lock:
            if not self.kept:
                return 1.0
            nearest = (torch.stack(self.kept) @ vector).max().item()
        return min(1.0, max(0.0, 1.0 - nearest))

    def keep(self, text: str):
        vector = self.embedder([text])[0]
        with self.lock:
            self.kept.append(vector)
