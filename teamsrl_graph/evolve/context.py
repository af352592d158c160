"""Run settings of the evolution graph: LangGraph's runtime context.

Every field is a plain JSON value with a description, so `langgraph dev`, LangGraph Studio and any
other host can build a Context from JSON and show it as a form. The heavy objects these settings
imply (chat models, templates, router, the query ledger, the gap model) are not here: they are a
`Resources` (resources.py), built once per Context. From Python, a model field also takes a LangChain
chat model instance instead of a spec (not JSON: reports write it as `instance:<class>`). With `improve` set, the answer of each
instruction then goes through an improvement loop: "pit" (a trained improver and gap model from
`teamsrl pit train`) or "self-refine" (the model critiques and rewrites its own answer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from ..common.checks import known_names, non_negative, positive, require, unit, whole
from ..common.errors import InputError
from ..common.prompts import IMPROVE_TEMPLATES

IMPROVE_MODES = tuple(IMPROVE_TEMPLATES)  # "none", "pit", "self-refine"
REVIEW_MODES = ("model", "human")
TYPE_DRAWS = ("learned", "uniform")
REPAIR_MODES = ("on", "off")
MODEL_FIELDS = ("model", "reviewer_model", "responder_model", "improver_model")  # a spec, or a chat model instance


def model_label(spec) -> str | None:
    """A model spec as JSON: the spec itself, or `instance:<class>` for a chat model instance."""
    return spec if spec is None or isinstance(spec, str) else f"instance:{type(spec).__name__}"


def setting(default, description: str):
    """A settings field with its description (shown by LangGraph Studio and the CLI's --help)."""
    return field(default=default, metadata={"description": description})


class _CheckedNames(type):
    """Makes `Context(**settings)` (and so `dataclasses.replace` and LangGraph's `context=` dict) refuse
    a name that is no field with an InputError naming it and the closest field, not a TypeError."""

    def __call__(cls, *args, **kwargs):
        known_names(kwargs, [f.name for f in fields(cls)])
        return super().__call__(*args, **kwargs)


@dataclass
class Context(metaclass=_CheckedNames):
    model: str = setting("local", "expert model: 'local', 'local:/folder' or 'provider:model'")
    reviewer_model: str | None = setting(None, "reviewer model spec; empty = the expert's")
    responder_model: str | None = setting(None, "responder model spec; empty = the expert's")
    base_url: str | None = setting(None, "OpenAI-compatible server URL for provider:model specs")
    router: str = setting("fixed", "who picks the next operation: fixed (TeaMs-RL schedule), random (WizardLM) or policy (learned)")
    policy: str | None = setting(None, "policy file for router 'policy'; empty = the shipped one")
    routing: str = setting("sample", "how router 'policy' acts: sample (reproducible per run seed, instruction and step) or greedy (its most likely action)")
    families: str = setting("draw", "who picks the constraint family add_constraints draws from under router 'policy': draw "
                                    "(the run's type draw over every type, as under the other routers) or policy (its family "
                                    "head; benchmarks/router_downstream.py measures both)")
    prompts: str | None = setting(None, "folder of prompt templates; empty = the shipped ones")
    max_steps: int = setting(4, "evolution depth limit per instruction")
    seed: int = setting(0, "seeds the routers' randomness and sampling")
    temperature: float = setting(0.0, "sampling temperature of every role (0 = greedy)")
    budget: int | None = setting(None, "hard cap on LLM queries for the whole run; empty = no cap")
    token_budget: int | None = setting(None, "hard cap on prompt + completion tokens for the whole run; empty = no cap")
    max_attempts: int = setting(3, "attempts per LLM call when a provider fails transiently (each one booked)")
    timeout: float = setting(60.0, "seconds one request to a provider may take")
    requests_per_second: float | None = setting(None, "spaces provider requests out (all roles together); empty = no limit")
    max_batch: int | None = setting(None, "rows the in-process engine decodes together (a request for k answers takes k); "
                                          "provider models ignore it; empty = the engine's default (models.chat.MAX_BATCH)")
    rewrite_tokens: int = setting(96, "new-token cap of an evolution call")
    review_tokens: int = setting(1, "new-token cap of a reviewer call read as text (1: a forced one-word Yes/No)")
    review: str = setting("model", "who accepts an evolution the reviewer judged a gain: model (at once) or human (the run "
                                   "pauses with interrupt() until resumed with Command(resume=True or False); needs a checkpointer)")
    review_threshold: float = setting(0.25, "P(yes) at or above which the reviewer counts a gain (benchmarks/reviewer_calibration.py)")
    answer_tokens: int = setting(256, "new-token cap of the final answer")
    max_constraints: int = setting(1, "verifiable constraints add_constraints may draw for one instruction; past that it adds a free-text requirement")
    type_draw: str = setting("learned", "how constraint types are drawn: learned (posterior sampling on the pass rates this run "
                                        "has verified, favouring types met sometimes; each type kept at half its uniform "
                                        "share or more) or uniform "
                                        "(the same types for the same run seed, instruction and step)")
    constraints_per_instruction: int = setting(0, "each answered instruction carries 1 to this many verifiable constraints: those "
                                                  "the evolution did not add are drawn and stated before answering; 0 = only add_constraints'")
    constraint_counts: str = setting("", "relative weights of carrying 1, 2, ... constraints_per_instruction constraints, "
                                         "comma-separated (e.g. 3,2,1: fewer verify more often; weights past "
                                         "constraints_per_instruction are ignored); empty = uniform")
    answer_samples: int = setting(8, "most answers drawn for an instruction with constraints, until one meets them all (each one booked)")
    sample_batch: int = setting(4, "answers drawn together in one request (rows sharing one prefill; OpenAI's n), per round")
    sample_temperature: float = setting(0.7, "sampling temperature of the answers to an instruction with constraints")
    repair: str = setting("off", "on: when no answer of a round meets every constraint, the first one that the registry's fixed "
                                 "edits (lowercase it, append the closing phrase, ...) make pass is kept, marked `repaired`, "
                                 "and sampling ends; off: answers only as sampled")
    improve: str = setting("none", "answer improvement after respond: none, pit or self-refine")
    pit: str | None = setting(None, "folder of `teamsrl pit train` (improver/ adapter, gap/ model) for improve 'pit'")
    improver_model: str | None = setting(None, "improver spec; empty = {pit}/improver (pit) or the responder (self-refine)")
    improve_threshold: float = setting(0.0, "pit stops when the predicted gain of the new answer is at or below this")
    improve_rounds: int = setting(2, "most improvement rounds per answer")
    improve_tokens: int = setting(256, "new-token cap of an improvement (and of a critique)")

    def __post_init__(self):
        from .routers import ROUTERS, check_families  # the registry of names; it loads no router

        for name, modes in (("improve", IMPROVE_MODES), ("review", REVIEW_MODES), ("type_draw", TYPE_DRAWS),
                            ("repair", REPAIR_MODES)):
            if getattr(self, name) not in modes:
                raise InputError(f"unknown mode {getattr(self, name)!r}; expected one of {', '.join(modes)}", field=name)
        if self.router not in ROUTERS:
            raise InputError(f"unknown router {self.router!r}; choose one of {sorted(ROUTERS)}", field="router")
        check_families(self.families)
        whole(self, "budget", "token_budget", "max_batch", empty=True)
        whole(self, "rewrite_tokens", "review_tokens", "answer_tokens", "improve_tokens", "improve_rounds", "max_attempts",
              "answer_samples", "sample_batch")
        whole(self, "max_constraints", "constraints_per_instruction", "max_steps", least=0)
        count_weights(self)  # a bad constraint_counts fails here
        non_negative(self, "temperature", "sample_temperature")
        require(self, ("improve_threshold",), lambda v: True, "a number")  # a gap may be negative; never NaN
        positive(self, "timeout", "requests_per_second", empty=True)
        unit(self, "review_threshold")  # a probability: above 1 no evolution could ever count as a gain

    @classmethod
    def of(cls, context) -> "Context":
        """`context` if it is a Context; an InputError saying what is missing otherwise (a graph run or a
        resumed one started without `context=`)."""
        if isinstance(context, cls):
            return context
        if isinstance(context, dict):  # a graph run turns a dict into a Context itself; resources need the instance
            raise InputError("got a dict of settings where the Context instance is needed: make one with "
                             "Context(**settings) and pass that same instance to bind/resources and to the run",
                             field="context")
        got = "no context" if context is None else f"a {type(context).__name__}"
        raise InputError(f"the evolution graph runs with a Context, got {got}: pass context=Context(...) (or a dict of "
                         "its settings) to invoke/stream, and again when resuming a thread", field="context")

    def settings(self) -> dict:
        """The settings as a JSON-able dict (what reports and resumed runs compare); a chat model
        instance given for a model spec is written as `instance:<class>`."""
        return {f.name: model_label(getattr(self, f.name)) if f.name in MODEL_FIELDS else getattr(self, f.name)
                for f in fields(self)}

    def improver_spec(self) -> str | None:
        """improver_model if set; else the responder's spec (self-refine) or {pit}/improver (pit); None without improve."""
        if self.improve == "none":
            return None
        if self.improver_model:
            return self.improver_model
        if self.improve == "self-refine":
            return self.responder_model or self.model
        return f"local:{self.pit_part('improver', 'a trained improver', 'improver_model')}"

    def pit_part(self, name: str, what: str, alternative: str) -> str:
        """The folder {pit}/{name} of a `teamsrl pit train` run, checked; `what` and `alternative` word the error."""
        import os

        if not self.pit:
            raise InputError(f"improve='pit' needs {what}: set pit (a `teamsrl pit train` folder) or {alternative}",
                             field="pit")
        if not os.path.isdir(self.pit):
            raise InputError("the PIT folder does not exist (make one with `teamsrl pit train`)", path=self.pit, field="pit")
        if not os.path.isdir(os.path.join(self.pit, name)):
            raise InputError(f"holds no {name}/ folder (make one with `teamsrl pit train`)", path=self.pit, field="pit")
        return os.path.join(self.pit, name)


def count_weights(ctx: "Context") -> list[float] | None:
    """`constraint_counts` as one weight per count 1..constraints_per_instruction (None: uniform, or no
    constraints to count); weights past constraints_per_instruction are ignored, so one setting serves
    every smaller N. An InputError naming the field when the text is not comma-separated numbers (even
    while N is 0), or fewer than N weights are given, or they are not finite numbers >= 0 with a positive sum."""
    text = (ctx.constraint_counts or "").strip()
    if not text:
        return None
    try:
        weights = [float(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"expected comma-separated numbers, got {text!r}", field="constraint_counts") from None
    if ctx.constraints_per_instruction < 1:
        return None
    if len(weights) < ctx.constraints_per_instruction:
        raise InputError(f"expected {ctx.constraints_per_instruction} weights (one per count from 1 to "
                         f"constraints_per_instruction), got {len(weights)}", field="constraint_counts")
    weights = weights[: ctx.constraints_per_instruction]
    if not all(math.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0:
        raise InputError(f"the first {len(weights)} weights must be finite, at least 0 and not all 0, got {text!r}",
                         field="constraint_counts")
    return weights
