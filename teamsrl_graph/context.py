"""Run settings of the evolution graph (LangGraph's runtime context), and the resources they imply.

Settings are plain values so `langgraph dev` and other hosts can build a Context from JSON; the
heavier objects (chat models, templates, router, budget) are built from them once per Context on
first use. Python callers may also pass ready-made objects (`models`, `router`, `budget`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .budget import Budget
from .models.factory import Models, supports_logprobs, supports_prefill
from .prompts import load_all
from .routers import make_router


ROLES = ("expert", "reviewer", "responder")


@dataclass
class Context:
    model: str = "local"  # expert model spec: "local", "local:/folder" or "provider:model"
    reviewer_model: str | None = None  # reviewer spec; None = same as the expert
    responder_model: str | None = None  # responder spec; None = same as the expert
    base_url: str | None = None  # OpenAI-compatible server for "provider:model" specs
    router: Any = "fixed"  # router name ("random", "fixed", "policy") or a Router callable
    policy: str | None = None  # policy file for router="policy"; None = the shipped one
    prompts: str | None = None  # folder of prompt templates; None = the shipped defaults
    max_steps: int = 4  # evolution depth limit per instruction
    seed: int = 0  # seeds the routers' randomness and sampling
    temperature: float = 0.0  # sampling temperature of every role (0 = greedy)
    rewrite_tokens: int = 96  # new-token cap of an evolution call
    review_tokens: int = 4  # new-token cap of a reviewer call
    review_threshold: float = 0.25  # P(yes) at or above which the reviewer counts a gain (calibrated: benchmarks/reviewer_calibration.py)
    answer_tokens: int = 256  # new-token cap of the final answer
    models: Models | None = None  # ready-made models; None = built from the specs above
    budget: Budget | None = None  # the run's shared query ledger; None = uncapped, per Context
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _built: dict | None = field(default=None, init=False, repr=False, compare=False)

    def resources(self) -> dict:
        """{"models", "templates", "router", "budget", "prefill": {role: bool}, "logprobs": {role: bool}}, built once."""
        with self._lock:
            if self._built is None:
                models = self.models or Models.from_specs(
                    self.model, self.reviewer_model, self.responder_model,
                    temperature=self.temperature, base_url=self.base_url,
                )
                router = self.router if callable(self.router) else make_router(self.router, self.seed, self.policy)
                self._built = {
                    "models": models,
                    "templates": load_all(self.prompts),
                    "router": router,
                    "budget": self.budget or Budget(),
                    "prefill": {role: supports_prefill(getattr(models, role)) for role in ROLES},
                    "logprobs": {role: supports_logprobs(getattr(models, role)) for role in ROLES},
                }
            return self._built
