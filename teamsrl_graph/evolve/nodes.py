"""The nodes of the evolution graph: route, one evolve node per operation, review, confirm (human
review, only with `Context.review="human"`), respond, improve; and take_answer, the entry of the
graph that only improves given answers.

Each node is a function `(state, runtime) -> update` around the LLM steps of `steps.py`, which
book every call in the run's ledger by role and node. A node that decides where the graph goes
returns a `Command(goto=..., update=...)`. Budget is reserved by `route` before an evolution
starts (`CALLS_PER_EVOLUTION`: rewrite + review), once per instruction for its answer, and before
each improvement round (`ROUND_CALLS`), so a started step always finishes and the cap is never
crossed.
"""

from __future__ import annotations

import logging

from langgraph.config import get_stream_writer
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from . import steps
from .actions import CALLS_PER_EVOLUTION, STOP, Observation, split_action
from ..running.calls import StepFailed
from .context import Context
from ..common.errors import InputError
from ..dataio.records import record_id
from .resources import resources
from .review import check_answer
from .state import State

log = logging.getLogger("teamsrl.graph")
ROUND_CALLS = {"pit": 1, "self-refine": 2}  # LLM calls reserved for one improvement round


def route(state: State, runtime: Runtime[Context]) -> Command:
    """Pick the next operation (reserving its calls) or go to respond; on the first visit, set the
    record up and reserve its answer, or end it at once when the budget cannot fund even that. The
    constraint family a router names with add_constraints (`actions.split_action`) goes into the
    state's `family` for the operation's node; why the evolution ended goes into `stop`."""
    ctx, res = runtime.context, resources(runtime.context)
    update: dict = {}
    if "instruction" not in state:
        update = {"instruction": state["seed"], "step": 0, "path": [], "queries": 0,
                  "id": state.get("id") or record_id(state["seed"], state.get("input", "")),
                  "input": state.get("input", ""), "index": state.get("index", 0)}
        if not res.budget.reserve(1):
            return Command(goto=END, update={**update, "status": "skipped_budget"})
    step, action, family, stop = state.get("step", 0), STOP, None, "max_steps"
    if step < ctx.max_steps:
        obs = Observation(
            instruction=state.get("instruction", state["seed"]), seed=state["seed"], step=step,
            max_steps=ctx.max_steps, history=[{k: s[k] for k in ("op", "accepted", "reason", "score")} for s in state.get("path", [])],
            budget_left=res.budget.remaining_fraction, index=state.get("index", 0),
        )
        action, family = split_action(res.router(obs))
        stop = "router"
        if action != STOP and not res.budget.reserve(CALLS_PER_EVOLUTION):
            action, family, stop = STOP, None, "budget"  # out of budget: finish with what we have
    get_stream_writer()({"event": "route", "id": update.get("id") or state.get("id"), "step": step, "action": action,
                         "family": family, "queries": res.budget.queries, "budget": res.budget.max_queries})
    if action == STOP:
        return Command(goto="respond", update={**update, "stop": stop})
    return Command(goto=action, update={**update, "family": family})


def make_evolve(op: str):
    """The node that applies operation `op` to the current instruction through the expert
    (`steps.propose`); a rewrite that fails for good is an eliminated step (its review call given
    back), and routing goes on."""

    def evolve(state: State, runtime: Runtime[Context]) -> Command:
        ctx = runtime.context
        try:
            pending = steps.propose(ctx, op, state["instruction"], constraints_of(state["path"]), state.get("index", 0),
                                    state["step"], state.get("input", ""), state.get("family"))
        except StepFailed as failure:
            resources(ctx).budget.release(1)  # the review call will not be made
            return Command(goto="route", update=failed_step(state, op, "", failure))
        return Command(goto="review", update={"op": op, "candidate": pending["candidate"], "pending": pending, "queries": 1})

    evolve.__name__ = op
    return evolve


def constraints_of(path: list) -> list[dict]:
    """The verifiable constraints of an instruction: those its accepted add_constraints steps drew."""
    return [s["constraint"] for s in path if s["accepted"] and s.get("constraint")]


def failed_step(state: State, op: str, candidate: str, failure: StepFailed) -> dict:
    """The update for an evolution step whose rewrite or review failed for good: rolled back, recorded."""
    step = {"op": op, "candidate": candidate, "accepted": False, "reason": f"error:{failure.type}", "score": 0.0}
    return {"path": state.get("path", []) + [step], "step": state["step"] + 1,
            "errors": [failure.as_dict()], "queries": failure.attempts}


def review(state: State, runtime: Runtime[Context]) -> Command:
    """The reviewer's verdict on the latest rewrite; with `review="human"` an accepted one waits for
    `confirm`."""
    old, new, op = state["instruction"], state["candidate"], state["op"]
    try:
        verdict, queries = steps.review(runtime.context, old, new, op)
    except StepFailed as failure:
        return Command(goto="route", update=failed_step(state, op, new, failure))
    log.debug("%s -> %s (%s)", op, verdict.reason, new[:80])
    pending = state.get("pending") or {}
    step = {"op": op, "candidate": new, **verdict.as_dict(), "constraint": pending.get("constraint"),
            "fallback": bool(pending.get("fallback")), "family": pending.get("family")}
    kept = constraints_of(state.get("path", []))  # an accepted rewrite must still state every one of them
    update = {"instruction": steps.restate(new, kept) if verdict.accepted else old,
              "path": state.get("path", []) + [step], "step": state["step"] + 1}
    if verdict.accepted and runtime.context.review == "human":
        return Command(goto="confirm", update={"pending": {**pending, "step": step, "accept": update}, "queries": queries})
    return Command(goto="route", update={**update, "queries": queries})


def confirm(state: State, runtime: Runtime[Context]) -> Command:
    """Human review: pause the run (`interrupt`) with the evolution the reviewer accepted; resumed
    with `Command(resume=True)` (or `{"accept": True}`) it is kept, with False it is rolled back."""
    pending = state["pending"]
    step = pending["step"]
    answer = interrupt({"op": step["op"], "old": state["instruction"], "new": step["candidate"],
                        "verdict": {k: step[k] for k in ("accepted", "reason", "score")}})
    accepted = answer.get("accept") if isinstance(answer, dict) else answer
    if not isinstance(accepted, bool):
        raise InputError(f"resume a human review with True, False or {{'accept': bool}}, got {answer!r}", field="resume")
    if accepted:
        return Command(goto="route", update=pending["accept"])
    rejected = {**step, "accepted": False, "reason": "rejected_by_human", "score": 0.0}
    return Command(goto="route", update={"path": state.get("path", []) + [rejected], "step": state["step"] + 1})


def respond(state: State, runtime: Runtime[Context]) -> Command:
    """Answer the final instruction; a refused or empty answer rolls the last evolution back and
    answers again. With an improve mode, a usable answer becomes the draft that `improve` works on."""
    ctx = runtime.context
    try:
        final = steps.final_answer(ctx, state["instruction"], constraints_of(state["path"]), state.get("index", 0),
                                   state.get("input", ""))
    except StepFailed as error:
        return Command(goto=END, update={"response": "", "response_ok": False, "status": "failed",
                                         "errors": [error.as_dict()], "queries": error.attempts})
    answer, failure, verification, samples = final.text, final.failure, final.verification, final.samples
    verified = None if verification is None else verification["strict"]
    update = {"instruction": final.instruction, "response": answer, "response_ok": failure is None and verified is not False,
              "queries": samples, "samples": samples, "status": "done", "constraints": final.constraints,
              "verification": verification, "constraints_ok": verified, "repaired": final.repaired}
    accepted = [i for i, s in enumerate(state["path"]) if s["accepted"]]
    if failure and accepted and resources(ctx).budget.reserve(1):
        path = [dict(s) for s in state["path"]]
        path[accepted[-1]].update(accepted=False, reason=f"bad_answer:{failure}", score=0.0)
        previous = [s["candidate"] for s in path if s["accepted"]]
        update.update(path=path, instruction=steps.restate(previous[-1], constraints_of(path)) if previous else state["seed"])
        return Command(goto="respond", update=update)
    if failure is None and ctx.improve != "none":
        return next_round(ctx, 0, {**update, "draft": answer, "improvements": []})
    return Command(goto=END, update=update)


def take_answer(state: State, runtime: Runtime[Context]) -> Command:
    """The entry of the improvement graph (`graph.build_improve_graph`): the answer given in the
    state's `response` to the instruction `seed` becomes the draft, as `respond` makes its own answer
    the draft, and the first round is reserved; an answer that fails elimination rules 2-3 (under
    `answer_tokens`) is not improved, as `respond` would not improve it."""
    ctx = runtime.context
    if ctx.improve == "none":
        raise InputError("the improvement graph needs an improve mode (pit or self-refine)", field="improve")
    answer = state.get("response")
    if not isinstance(answer, str):
        raise InputError("the input needs the answer to improve as text in 'response'", field="response")
    update = {"instruction": state.get("instruction") or state["seed"], "input": state.get("input", ""),
              "id": state.get("id") or record_id(state["seed"], state.get("input", "")), "status": "done",
              "draft": answer, "improvements": []}
    failure = check_answer(answer, ctx.answer_tokens)
    if failure:
        return Command(goto=END, update={**update, "improve_stop": f"bad_answer:{failure}"})
    return next_round(ctx, 0, update)


def improve(state: State, runtime: Runtime[Context]) -> Command:
    """One improvement round of the answer, reserved beforehand: keep the candidate and go on, or stop.

    pit: the improver rewrites the answer and the gap model predicts the gain; a gain at or below
    `improve_threshold` stops. self-refine: the improver critiques its answer ("NO ISSUES" stops and
    gives the refine call back) and rewrites it applying the feedback. An empty or refused candidate
    (elimination rules 2-3) is never kept and stops the loop."""
    ctx = runtime.context
    res, current = resources(ctx), state["response"]
    entry = {"round": len(state["improvements"]) + 1, "mode": ctx.improve, "candidate": "", "gap": None, "feedback": None}
    try:
        return improve_round(state, ctx, entry, current)
    except StepFailed as failure:  # the answer stays as it is
        if failure.node == "critique":
            res.budget.release(1)  # the refine call will not be made
        made = failure.attempts + (1 if failure.node == "refine" else 0)  # a refine comes after its critique
        return Command(goto=END, update={"improve_stop": "error", "errors": [failure.as_dict()], "queries": made})


def improve_round(state: State, ctx: Context, entry: dict, current: str) -> Command:
    """The body of `improve`: one round's calls and verdict (calls may raise `StepFailed`)."""
    res, instruction, input_text = resources(ctx), state["instruction"], state.get("input", "")
    if ctx.improve == "pit":
        entry["candidate"] = steps.improve(ctx, instruction, current, input_text)
        failure, queries = check_answer(entry["candidate"], ctx.improve_tokens), 1
        if failure:
            reason = f"bad_answer:{failure}"
        else:
            prompt = steps.improve_values(instruction, current, input_text)["instruction"]  # as the gap model was trained
            entry["gap"] = round(float(res.gap.score([prompt], [current], [entry["candidate"]])[0]), 4)
            reason = "improved" if entry["gap"] > ctx.improve_threshold else "no_gap"
    else:
        entry["feedback"] = steps.critique(ctx, instruction, current, input_text)
        if steps.satisfied(entry["feedback"]):
            res.budget.release(1)  # the refine call is not needed
            reason, queries = "satisfied", 1
        else:
            entry["candidate"] = steps.refine(ctx, instruction, current, entry["feedback"], input_text)
            failure = check_answer(entry["candidate"], ctx.improve_tokens)
            reason, queries = (f"bad_answer:{failure}" if failure else "improved"), 2
    entry.update(accepted=reason == "improved", reason=reason)
    log.debug("improve round %d: %s", entry["round"], reason)
    update = {"improvements": state["improvements"] + [entry], "queries": queries}
    if not entry["accepted"]:
        return Command(goto=END, update={**update, "improve_stop": reason})
    return next_round(ctx, entry["round"], {**update, "response": entry["candidate"]})


def next_round(ctx: Context, done: int, update: dict) -> Command:
    """Reserve the next improvement round and go to it, or end at `improve_rounds` or the budget."""
    if done >= ctx.improve_rounds:
        return Command(goto=END, update={**update, "improve_stop": "max_rounds"})
    if not resources(ctx).budget.reserve(ROUND_CALLS[ctx.improve]):
        return Command(goto=END, update={**update, "improve_stop": "budget"})
    return Command(goto="improve", update=update)
