"""Run settings of the evolution graph (LangGraph's runtime context), and the resources they imply.

Settings are plain values so `langgraph dev` and other hosts can build a Context from JSON; the
heavier objects (chat models, templates, router, budget) are built from them once per Context on
first use. Python callers may also pass ready-made objects (`models`, `router`, `budget`, `gap`).
With `improve` set, the answer of each instruction then goes through an improvement loop: "pit"
(a trained improver and gap model from `teamsrl pit train`) or "self-refine" (the model critiques
and rewrites its own answer).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from .budget import Budget
from .errors import InputError
from .models.factory import Models, make_chat_model, supports_logprobs, supports_prefill
from .prompts import GRAPH_TEMPLATES, IMPROVE_TEMPLATES, load_all
from .routers import make_router


ROLES = ("expert", "reviewer", "responder", "improver")
IMPROVE_MODES = tuple(IMPROVE_TEMPLATES)  # "none", "pit", "self-refine"


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
    improve: str = "none"  # answer improvement after respond: "none", "pit" or "self-refine"
    pit: str | None = None  # folder of `teamsrl pit train` (improver/ adapter, gap/ model) for improve="pit"
    improver_model: str | None = None  # improver spec; None = local:{pit}/improver (pit) or the responder (self-refine)
    gap: Any = None  # ready-made gap scorer, .score(instructions, references, responses) -> floats; None = {pit}/gap
    improve_threshold: float = 0.0  # pit stops when the predicted gap of the new answer over the current is <= this
    improve_rounds: int = 2  # most improvement rounds per answer
    improve_tokens: int = 256  # new-token cap of an improvement (and of a critique)
    models: Models | None = None  # ready-made models; None = built from the specs above
    budget: Budget | None = None  # the run's shared query ledger; None = uncapped, per Context
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _built: dict | None = field(default=None, init=False, repr=False, compare=False)

    def resources(self) -> dict:
        """{"models", "templates", "router", "budget", "gap", "prefill": {role: bool}, "logprobs": {role: bool}}, built once."""
        with self._lock:
            if self._built is None:
                if self.improve not in IMPROVE_MODES:
                    raise InputError(f"unknown mode {self.improve!r}; expected one of {', '.join(IMPROVE_MODES)}", field="improve")
                templates = load_all(self.prompts, GRAPH_TEMPLATES + IMPROVE_TEMPLATES[self.improve])
                models = self._models()
                present = {role: getattr(models, role) for role in ROLES if getattr(models, role) is not None}
                router = self.router if callable(self.router) else make_router(self.router, self.seed, self.policy)
                self._built = {
                    "models": models,
                    "templates": templates,
                    "router": router,
                    "budget": self.budget or Budget(),
                    "gap": self._gap(),
                    "prefill": {role: supports_prefill(model) for role, model in present.items()},
                    "logprobs": {role: supports_logprobs(model) for role, model in present.items()},
                }
            return self._built

    def _models(self) -> Models:
        """The ready-made or specified models, with an improver when the improve mode needs one."""
        kwargs = {"temperature": self.temperature, "base_url": self.base_url}
        if self.models is None:
            return Models.from_specs(self.model, self.reviewer_model, self.responder_model,
                                     improver=self._improver_spec(), **kwargs)
        if self.improve == "none" or self.models.improver is not None:
            return self.models
        spec = self._improver_spec()
        # Self-Refine's default improver is the responder itself (the same instance)
        improver = self.models.responder if spec == (self.responder_model or self.model) else make_chat_model(spec, **kwargs)
        return replace(self.models, improver=improver)

    def _improver_spec(self) -> str | None:
        """improver_model if set; else the responder's spec (self-refine) or {pit}/improver (pit)."""
        if self.improve == "none":
            return None
        if self.improver_model:
            return self.improver_model
        if self.improve == "self-refine":
            return self.responder_model or self.model
        return f"local:{self._pit_part('improver', 'a trained improver', 'improver_model')}"

    def _pit_part(self, name: str, what: str, alternative: str) -> str:
        """The folder {pit}/{name} of a `teamsrl pit train` run, checked; `what` and `alternative` word the error."""
        if not self.pit:
            raise InputError(f"improve='pit' needs {what}: set pit (a `teamsrl pit train` folder) or {alternative}",
                             field="pit")
        if not os.path.isdir(self.pit):
            raise InputError("the PIT folder does not exist (make one with `teamsrl pit train`)", path=self.pit, field="pit")
        if not os.path.isdir(os.path.join(self.pit, name)):
            raise InputError(f"holds no {name}/ folder (make one with `teamsrl pit train`)", path=self.pit, field="pit")
        return os.path.join(self.pit, name)

    def _gap(self):
        """The gap scorer of improve="pit" (ready-made, or loaded from {pit}/gap); None otherwise."""
        if self.improve != "pit" or self.gap is not None:
            return self.gap if self.improve == "pit" else None
        from .pit.gap import GapModel  # torch and the embedder load only for PIT runs

        return GapModel.load(self._pit_part("gap", "a gap model", "gap"))
