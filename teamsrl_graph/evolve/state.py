"""The typed state one instruction carries through the evolution graph.

Everything here is plain JSON, so a checkpointer can persist it and `langgraph dev` can show it.
Where the graph goes next is not state: each node returns it as a `Command`. The input and output
fields carry descriptions (pydantic `Field` in `Annotated`), which LangGraph puts into the graph's
JSON schemas (`graph.get_input_jsonschema()`, the served assistant's schemas, LangGraph Studio's form).
"""

from __future__ import annotations

import operator
from typing import Annotated

from pydantic import Field
from typing_extensions import Required, TypedDict  # langgraph dev's schemas need it on Python 3.11


class Step(TypedDict):
    op: str  # the operation applied
    candidate: str  # the expert's rewrite, cleaned
    accepted: bool  # kept (True) or rolled back (False)
    reason: str  # "gained" or the elimination rule that fired
    score: float  # the reviewer's reward for this step, in [0, 1]
    constraint: dict | None  # add_constraints: the verifiable constraint it drew ({"id", "kwargs"})
    fallback: bool  # the rewrite did not state that constraint, so the registry's phrasing was appended
    family: str | None  # add_constraints: the constraint family the router asked for (None: any)


class Improvement(TypedDict):
    round: int  # 1, 2, ... within this answer
    mode: str  # "pit" or "self-refine"
    candidate: str  # the rewritten answer ("" when the critique found nothing to fix)
    gap: float | None  # pit: the gap model's predicted gain of the candidate over the current answer
    feedback: str | None  # self-refine: the critique the candidate applies
    accepted: bool  # the candidate became the answer
    reason: str  # "improved", "no_gap", "satisfied" or "bad_answer:<rule>"


class InputState(TypedDict, total=False):
    seed: Required[Annotated[str, Field(description="the seed instruction to evolve (required, not empty)")]]
    input: Annotated[str, Field(description="optional input the instruction works on (Alpaca's 'input')")]
    id: Annotated[str, Field(description="stable record id; derived from the seed and input when absent")]
    index: Annotated[int, Field(description="position in the run, for reproducible routing")]


class State(InputState, total=False):
    instruction: str  # the current instruction: the last accepted evolution, or the seed
    step: int  # evolution steps taken (accepted or not)
    op: str  # the operation under way (set by its node, read by review)
    family: str | None  # the constraint family the router chose for the operation under way (None: any)
    candidate: str  # the latest rewrite, waiting for review
    pending: dict  # what review needs of the latest rewrite: op, candidate, constraint, fallback
    path: list[Step]  # every evolution step with its verdict
    stop: str  # why the evolution ended: "router" (it chose STOP), "max_steps" or "budget"
    response: str  # the answer to the final instruction
    response_ok: bool  # the answer passed elimination rules 2 and 3, and meets every constraint
    constraints: list[dict]  # the verifiable constraints the final instruction states
    verification: dict | None  # the answer checked against them: {"strict", "loose", "results"}; None without
    constraints_ok: bool | None  # the answer meets every constraint (strict); None without constraints
    samples: int  # answers drawn for the final instruction (all verified, each one booked)
    repaired: list[str]  # ids of the constraints the answer was edited to meet (`constraints.repair`); [] when none
    draft: str  # the answer before improvement (only with an improve mode)
    improvements: list[Improvement]  # every improvement round with its outcome
    improve_stop: str  # why improvement ended: a round's reason, "max_rounds" or "budget"
    status: str  # "done"; "failed" when the answer could not be had; "skipped_budget" when the budget could not fund even the answer
    errors: Annotated[list[dict], operator.add]  # LLM calls that failed for good: {"node", "type", "message"}
    queries: Annotated[int, operator.add]  # LLM requests sent for this instruction, every retry included
    books: dict  # this instruction's own ledger (`Budget.state()`): what a resumed thread brings along
    held: int  # calls promised to this instruction and not yet made (checkpoints.py)


def _out(kind, text: str):
    return Annotated[kind, Field(description=text)]


class OutputState(TypedDict, total=False):
    id: _out(str, "stable record id")
    seed: _out(str, "the seed instruction")
    input: _out(str, "the input the instruction works on ('' when none)")
    instruction: _out(str, "the final instruction: the last accepted evolution, or the seed")
    response: _out(str, "the answer to the final instruction")
    response_ok: _out(bool, "the answer passed the elimination rules and meets every constraint")
    constraints: _out(list[dict], "the verifiable constraints the final instruction states")
    verification: _out(dict | None, "the answer checked against them: {strict, loose, results}; null without constraints")
    constraints_ok: _out(bool | None, "the answer meets every constraint (strict); null without constraints")
    samples: _out(int, "answers drawn for the final instruction (each verified and booked)")
    repaired: _out(list[str], "ids of the constraints the answer was edited to meet by the registry's repairs; [] when none")
    path: _out(list[Step], "every evolution step with its verdict")
    stop: _out(str, "why the evolution ended: router (it chose STOP), max_steps or budget")
    draft: _out(str, "the answer before improvement (only with an improve mode)")
    improvements: _out(list[Improvement], "every improvement round with its outcome")
    improve_stop: _out(str, "why improvement ended: a round's reason, max_rounds or budget")
    queries: _out(int, "LLM calls booked for this instruction (a request of k answers counts k), every retry included")
    status: _out(str, "done; failed when no answer could be had; skipped_budget when the budget could not fund one")
    errors: _out(list[dict], "LLM calls that failed for good: {node, type, message}")
