"""What a run's settings imply: chat models, templates, router, the query ledger, the gap model.

A `Resources` is built once from a `Context` and then reached by attribute. It is bound to that
Context object, so every node of every graph branch that runs with the Context finds the same
models and the same ledger: `resources(context)` returns the bound one, building it from the
settings on first use (this is what a served run gets). Python callers who bring ready-made parts
(fake models in tests, a router object, a ledger shared with something else) bind them first with
`bind(context, models=..., router=..., budget=..., gap=...)`. A copy of a Context
(`dataclasses.replace`) is a new run: it gets resources of its own unless bound.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, replace
from typing import Any, Callable

from .actions import Router
from ..constraints import TypeDraw
from ..running.budget import Budget
from .context import Context
from ..common.errors import InputError
from ..models.factory import (Models, make_chat_model, make_rate_limiter, supports_logprobs, supports_prefill,
                              without_own_retries)
from ..common.prompts import GRAPH_TEMPLATES, IMPROVE_TEMPLATES, Template, load_all
from .routers import make_router

ROLES = ("expert", "reviewer", "responder", "improver")


@dataclass
class Resources:
    models: Models  # the chat model of each role
    templates: dict[str, Template]  # prompt templates by name
    router: Router  # picks the next operation or STOP
    budget: Budget  # the run's query ledger
    gap: Any  # improve="pit": the gap scorer, .score(instructions, references, responses) -> floats; else None
    prefill: dict[str, bool]  # role -> the model continues a trailing assistant message
    logprobs: dict[str, bool]  # role -> the model returns first-token log-probabilities
    on_booked: Callable[[], None] | None = None  # called after each call is booked (e.g. to save the ledger)
    reviewer_mode: str | None = None  # "logprobs" or "text": what the first reviewer reply showed (steps.ask_reviewer)
    draw: Any = None  # the run's constraint-type draw (`constraints.TypeDraw`), learning pass rates from verified answers
    on_verified: Callable[[list, dict], None] | None = None  # called with (constraints, verification) of every sampled answer

    @classmethod
    def build(cls, context: Context, *, models: Models | None = None, router: Router | None = None,
              budget: Budget | None = None, gap: Any = None) -> "Resources":
        """Everything `context` names, with the given ready-made parts used as they are."""
        templates = load_all(context.prompts, GRAPH_TEMPLATES + IMPROVE_TEMPLATES[context.improve])
        models = _models(context, models)
        present = {role: getattr(models, role) for role in ROLES if getattr(models, role) is not None}
        return cls(
            models=models,
            templates=templates,
            router=router or make_router(context.router, context.seed, context.policy, context.routing, context.families),
            budget=budget or Budget(context.budget, context.token_budget),
            gap=_gap(context, gap),
            prefill={role: supports_prefill(model) for role, model in present.items()},
            logprobs={role: supports_logprobs(model) for role, model in present.items()},
            draw=TypeDraw(),
        )


def _models(context: Context, models: Models | None) -> Models:
    """The ready-made or specified models, with an improver when the improve mode needs one."""
    limiter = make_rate_limiter(context.requests_per_second) if context.requests_per_second else None
    kwargs = {"temperature": context.temperature, "base_url": context.base_url, "timeout": context.timeout,
              "rate_limiter": limiter, "max_batch": context.max_batch}  # one limiter for every role
    if models is None:
        return Models.from_specs(context.model, context.reviewer_model, context.responder_model,
                                 improver=context.improver_spec(), **kwargs)
    models = _no_own_retries(models)
    if context.improve == "none" or models.improver is not None:
        return models
    spec = context.improver_spec()
    # Self-Refine's default improver is the responder itself (the same instance)
    improver = models.responder if spec == (context.responder_model or context.model) else make_chat_model(spec, **kwargs)
    return replace(models, improver=improver)


def _no_own_retries(models: Models) -> Models:
    """`models` with every role's model free of hidden retries (`without_own_retries`); roles that
    shared an instance share its copy."""
    copies: dict[int, Any] = {}
    for role in ROLES:
        model = getattr(models, role)
        if model is not None and id(model) not in copies:
            copies[id(model)] = without_own_retries(model)
    if all(copies[id(getattr(models, r))] is getattr(models, r) for r in ROLES if getattr(models, r) is not None):
        return models
    return replace(models, **{r: copies[id(getattr(models, r))] for r in ROLES if getattr(models, r) is not None})


def _gap(context: Context, gap: Any):
    """The gap scorer of improve="pit" (ready-made, or loaded from {pit}/gap); None otherwise."""
    if context.improve != "pit":
        return None
    if gap is not None:
        return gap
    from ..pit.gap import GapModel  # torch and the embedder load only for PIT runs

    return GapModel.load(context.pit_part("gap", "a gap model", "gap"))


_BOUND: dict[int, tuple[weakref.ref, Resources]] = {}  # id(context) -> (the context, its resources)
_LOCK = threading.Lock()


def _lookup(context: Context) -> Resources | None:
    entry = _BOUND.get(id(context))
    return entry[1] if entry and entry[0]() is context else None


def _attach(context: Context, res: Resources) -> Resources:
    key = id(context)
    _BOUND[key] = (weakref.ref(context, lambda _ref: _BOUND.pop(key, None)), res)
    return res


def bind(context: Context, **ready) -> Resources:
    """Build `context`'s resources with the ready-made parts (models, router, budget, gap) and bind them."""
    context = Context.of(context)
    with _LOCK:
        if _lookup(context) is not None:
            raise InputError("this Context already has its resources; bind ready-made parts before the first run")
        return _attach(context, Resources.build(context, **ready))


def resources(context: Context) -> Resources:
    """The resources bound to `context`, built from its settings (once) if none are."""
    context = Context.of(context)
    with _LOCK:  # held while building: parallel branches must not load the models twice
        return _lookup(context) or _attach(context, Resources.build(context))
