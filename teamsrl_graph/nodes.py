"""The nodes of the evolution graph: route, one evolve node per operation, review, respond, improve.

Each node is a function `(state, runtime) -> update` around the LLM steps of `steps.py`, which
book every call in the run's budget by role and node. Budget is reserved by `route` before an
evolution starts (2 calls: rewrite + review), once per instruction for its answer, and before each
improvement round (1 call for PIT, 2 for critique + refine), so a started step always finishes and
the cap is never crossed.
"""

from __future__ import annotations

import hashlib
import logging

from langgraph.runtime import Runtime

from . import steps
from .context import Context
from .review import check_answer
from .routers import STOP, Observation
from .state import State

log = logging.getLogger("teamsrl.graph")
ROUND_CALLS = {"pit": 1, "self-refine": 2}  # LLM calls reserved for one improvement round


def record_id(seed: str, input_text: str = "") -> str:
    return hashlib.sha256(f"{seed}\x00{input_text}".encode()).hexdigest()[:16]


def route(state: State, runtime: Runtime[Context]) -> dict:
    ctx, res = runtime.context, runtime.context.resources()
    budget = res["budget"]
    update: dict = {}
    if "instruction" not in state:  # first visit: set up, and promise the final answer its call
        update = {"instruction": state["seed"], "step": 0, "path": [], "queries": 0,
                  "id": state.get("id") or record_id(state["seed"], state.get("input", "")),
                  "input": state.get("input", ""), "index": state.get("index", 0)}
        if not budget.reserve(1):
            return {**update, "action": "end", "held": 0, "status": "skipped_budget"}
        update["held"] = 1
    step = state.get("step", 0)
    action = STOP
    if step < ctx.max_steps:
        obs = Observation(
            instruction=state.get("instruction", state["seed"]), seed=state["seed"], step=step,
            max_steps=ctx.max_steps, history=[{k: s[k] for k in ("op", "accepted", "reason", "score")} for s in state.get("path", [])],
            budget_left=budget.remaining_fraction, index=state.get("index", 0),
        )
        action = res["router"](obs)
        if action != STOP and not budget.reserve(2):
            action = STOP  # out of budget: finish with what we have
    held = update.get("held", state.get("held", 0))
    return {**update, "action": action, "held": held + (2 if action != STOP else 0)}


def make_evolve(op: str):
    """The node that applies operation `op` to the current instruction through the expert."""

    def evolve(state: State, runtime: Runtime[Context]) -> dict:
        candidate = steps.rewrite(runtime.context, op, state["instruction"], state.get("input", ""))
        return {"candidate": candidate, "queries": 1, "held": state["held"] - 1}

    evolve.__name__ = op
    return evolve


def review(state: State, runtime: Runtime[Context]) -> dict:
    old, new, op = state["instruction"], state["candidate"], state["action"]
    verdict, queries = steps.review(runtime.context, old, new, op)
    log.debug("%s -> %s (%s)", op, verdict.reason, new[:80])
    return {
        "instruction": new if verdict.accepted else old,
        "path": state.get("path", []) + [{"op": op, "candidate": new, **verdict.as_dict()}],
        "step": state["step"] + 1,
        "queries": queries,
        "held": state["held"] - 1,
    }


def respond(state: State, runtime: Runtime[Context]) -> dict:
    """Answer the final instruction; a refused or empty answer rolls the last evolution back.

    With an improve mode, a usable answer becomes the draft that `improve` works on."""
    ctx = runtime.context
    answer, failure = steps.answer(ctx, state["instruction"], state.get("input", ""))
    update = {"response": answer, "response_ok": failure is None, "queries": 1, "held": state["held"] - 1,
              "status": "done", "action": "answered"}
    accepted = [i for i, s in enumerate(state["path"]) if s["accepted"]]
    if failure and accepted and runtime.context.resources()["budget"].reserve(1):
        path = [dict(s) for s in state["path"]]
        path[accepted[-1]].update(accepted=False, reason=f"bad_answer:{failure}", score=0.0)
        previous = [s["candidate"] for s in path if s["accepted"]]
        update.update(path=path, instruction=previous[-1] if previous else state["seed"], held=update["held"] + 1,
                      action="retry")
    elif failure is None and ctx.improve != "none":
        update.update(draft=answer, improvements=[], **next_round(ctx, 0, update["held"]))
    return update


def improve(state: State, runtime: Runtime[Context]) -> dict:
    """One improvement round of the answer, reserved beforehand: keep the candidate and go on, or stop.

    pit: the improver rewrites the answer and the gap model predicts the gain; a gain at or below
    `improve_threshold` stops. self-refine: the improver critiques its answer ("NO ISSUES" stops and
    gives the refine call back) and rewrites it applying the feedback. An empty or refused candidate
    (elimination rules 2-3) is never kept and stops the loop."""
    ctx = runtime.context
    res = ctx.resources()
    instruction, input_text, current = state["instruction"], state.get("input", ""), state["response"]
    entry = {"round": len(state["improvements"]) + 1, "mode": ctx.improve, "candidate": "", "gap": None, "feedback": None}
    if ctx.improve == "pit":
        entry["candidate"] = steps.improve(ctx, instruction, current, input_text)
        failure, queries = check_answer(entry["candidate"]), 1
        if failure:
            reason = f"bad_answer:{failure}"
        else:
            prompt = steps.improve_values(instruction, current, input_text)["instruction"]  # as the gap model was trained
            entry["gap"] = round(float(res["gap"].score([prompt], [current], [entry["candidate"]])[0]), 4)
            reason = "improved" if entry["gap"] > ctx.improve_threshold else "no_gap"
    else:
        entry["feedback"] = steps.critique(ctx, instruction, current, input_text)
        if steps.satisfied(entry["feedback"]):
            res["budget"].release(1)  # the refine call is not needed
            reason, queries = "satisfied", 1
        else:
            entry["candidate"] = steps.refine(ctx, instruction, current, entry["feedback"], input_text)
            failure = check_answer(entry["candidate"])
            reason, queries = (f"bad_answer:{failure}" if failure else "improved"), 2
    entry.update(accepted=reason == "improved", reason=reason)
    log.debug("improve round %d: %s", entry["round"], reason)
    update = {"improvements": state["improvements"] + [entry], "queries": queries,
              "held": state["held"] - ROUND_CALLS[ctx.improve]}
    if not entry["accepted"]:
        return {**update, "action": "answered", "improve_stop": reason}
    return {**update, "response": entry["candidate"], **next_round(ctx, entry["round"], update["held"])}


def next_round(ctx: Context, done: int, held: int) -> dict:
    """Reserve the next improvement round and route to it, or stop at `improve_rounds` or the budget."""
    if done >= ctx.improve_rounds:
        return {"action": "answered", "improve_stop": "max_rounds"}
    if not ctx.resources()["budget"].reserve(ROUND_CALLS[ctx.improve]):
        return {"action": "answered", "improve_stop": "budget"}
    return {"action": "improve", "held": held + ROUND_CALLS[ctx.improve]}


def after_route(state: State) -> str:
    return {"stop": "respond", "end": "__end__"}.get(state["action"], state["action"])


def after_respond(state: State) -> str:
    return {"retry": "respond", "improve": "improve"}.get(state.get("action"), "__end__")


def after_improve(state: State) -> str:
    return "improve" if state.get("action") == "improve" else "__end__"
