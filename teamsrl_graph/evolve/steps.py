"""The LLM steps of TeaMs-RL as plain functions of a `Context`: rewrite, review, answer, and the
answer-improvement steps improve (PIT), critique and refine (Self-Refine).

The graph's nodes wrap them, and anything else that needs one evolution step (the policy's training
environment, benchmarks) calls them directly, so there is one implementation of each. Each takes the
run's settings (`Context`) and finds the models, templates and ledger in the resources bound to it
(`resources.py`). Every call is booked in the ledger, which the caller must have reserved
beforehand: `CALLS_PER_EVOLUTION` for rewrite + review (review gives one back when the free checks
already decide), one for an answer, one for a PIT improvement, two for critique + refine.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from dataclasses import replace
from typing import NamedTuple

from ..running import calls
from ..running.budget import count_tokens
from .context import Context, count_weights
from ..common.errors import InputError
from .resources import resources
from ..constraints import compose, phrase, sample_constraints, stated, verify
from ..constraints.repair import repair
from .review import Verdict, check_answer, check_instruction, clean_rewrite, gain_probability, judge, parse_judgement
from ..dataio.records import prompt_of

log = logging.getLogger("teamsrl.steps")


def ask(ctx: Context, role: str, node: str, template, values: dict, max_tokens: int, **kwargs):
    """Render `template` (a name among the context's templates, or a `Template`), call the model of
    `role` (booked and retried by `calls.call`; `calls.StepFailed` when it fails for good); return
    (prefill used, AIMessage)."""
    start, replies = ask_many(ctx, role, node, template, values, max_tokens, 1, **kwargs)
    return start, replies[0]


def ask_many(ctx: Context, role: str, node: str, template, values: dict, max_tokens: int, n: int, **kwargs):
    """`ask` for `n` replies to the same prompt (n calls reserved; one request where the model takes
    `n`, see `calls.sample`); returns (prefill used, [AIMessage] * n)."""
    res = resources(ctx)
    model, prefill = getattr(res.models, role), res.prefill[role]
    tpl = res.templates[template] if isinstance(template, str) else template
    messages = tpl.render(values, prefill=prefill)
    replies = calls.sample(model, messages, n, budget=res.budget, role=role, node=node, attempts=ctx.max_attempts,
                           on_booked=res.on_booked, max_tokens=max_tokens, **kwargs)
    one_request = n > 1 and calls.takes_n(model)  # its replies each carry the whole request's usage
    for reply in replies[:1] if one_request else replies:
        usage = getattr(reply, "usage_metadata", None) or {}
        prompt_tokens = usage.get("input_tokens") or sum(count_tokens(m.text) for m in messages)
        completion_tokens = usage.get("output_tokens") or sum(count_tokens(r.text) for r in
                                                              (replies if one_request else [reply]))
        res.budget.add_tokens(role, prompt_tokens, completion_tokens)
        log.debug("%s/%s: %d+%d tokens", role, node, prompt_tokens, completion_tokens)
    return (tpl.prefill_for(values) if prefill else ""), replies


def reply_text(ctx: Context, role: str, node: str, template, values: dict, max_tokens: int, **kwargs) -> str:
    """The whole reply of one booked call (a prefill the model continued included), stripped."""
    start, reply = ask(ctx, role, node, template, values, max_tokens, **kwargs)
    return (start + reply.text).strip()


FREE_REQUIREMENT = "one more specific requirement of your own choosing (a length, a format, a keyword or an audience)"


def rewrite(ctx: Context, op: str, instruction: str, input_text: str = "") -> str:
    """Apply operation `op` through the expert; returns the cleaned candidate instruction. (An
    add_constraints past `max_constraints` asks for a requirement of the expert's own choosing.)"""
    values = {"instruction": instruction, "input": input_text, "requirement": FREE_REQUIREMENT}
    start, reply = ask(ctx, "expert", op, op, values, ctx.rewrite_tokens)
    return clean_rewrite(reply.text, prefill=start)


def constrain(ctx: Context, instruction: str, constraint: dict, input_text: str = "", rng=None) -> tuple[str, bool]:
    """add_constraints with a drawn verifiable `constraint`: the expert works its requirement into the
    task. Returns (candidate, fell back): a rewrite that does not state the requirement (dropped or
    garbled) is replaced by the instruction with the requirement stated in one of the training
    phrasings, before, after or woven into the task (`constraints.compose`, drawn from `rng`)."""
    rng = rng or random.Random(f"constrain:{ctx.seed}:{instruction}")
    values = {"instruction": instruction, "input": input_text, "requirement": phrase(constraint, rng.randrange(64))}
    start, reply = ask(ctx, "expert", "add_constraints", "add_constraints", values, ctx.rewrite_tokens)
    candidate = clean_rewrite(reply.text, prefill=start)
    if stated(candidate, constraint):
        return candidate, False
    return compose(instruction, [constraint], rng), True


def draw_constraint(ctx: Context, existing: list[dict], index: int, step: int, instruction: str,
                    family: str | None = None) -> dict | None:
    """One new verifiable constraint compatible with `existing`, its type picked by the run's learned
    type draw (`Resources.draw`: posterior sampling on the pass rates seen so far, with a floor; or
    uniformly with `type_draw="uniform"`) from a generator seeded by (run seed, instruction index,
    step); None when no type fits. A `family` (the router's choice) is preferred above the draw's
    floor, which keeps every type at half its uniform share or more; when none of its types fits,
    any type may come."""
    rng = random.Random(f"constraint:{ctx.seed}:{index}:{step}")
    draw = resources(ctx).draw if ctx.type_draw == "learned" else None
    found = sample_constraints(rng, instruction, 1, draw=draw, existing=existing, family=family)
    return found[0] if found else None


def propose(ctx: Context, op: str, instruction: str, constraints: list[dict], index: int, step: int,
            input_text: str = "", family: str | None = None) -> dict:
    """One evolution's rewrite (one expert call): {"op", "candidate", "constraint", "fallback", "family"}.
    add_constraints draws a verifiable constraint the instruction does not have yet (`draw_constraint`,
    preferring the router's `family` when it chose one) and has the expert work it in (`constrain`),
    up to `max_constraints` per instruction."""
    drawn = None
    if op == "add_constraints" and len(constraints) < ctx.max_constraints:  # past the limit: a free-text requirement
        drawn = draw_constraint(ctx, constraints, index, step, instruction, family)
    if drawn:
        rng = random.Random(f"constrain:{ctx.seed}:{index}:{step}")
        candidate, fell_back = constrain(ctx, instruction, drawn, input_text, rng)
    else:
        candidate, fell_back = rewrite(ctx, op, instruction, input_text), False
    return {"op": op, "candidate": candidate, "constraint": drawn, "fallback": fell_back, "family": family}


def required_constraints(ctx: Context, instruction: str, constraints: list[dict], index: int) -> tuple[str, list[dict]]:
    """With `constraints_per_instruction` N > 0, the instruction to answer carries between 1 and N
    verifiable constraints (how many: uniform, or weighted by `constraint_counts`; seeded by run seed
    and index): those it lacks are drawn
    (`draw_constraint`) and stated in training phrasings (`compose`). Returns (instruction, the
    constraints added). No LLM call."""
    if ctx.constraints_per_instruction < 1:
        return instruction, []
    rng = random.Random(f"required:{ctx.seed}:{index}")
    weights = count_weights(ctx)
    counts = range(1, ctx.constraints_per_instruction + 1)
    target = rng.choices(counts, weights)[0] if weights else rng.randint(1, ctx.constraints_per_instruction)
    added = []
    while len(constraints) + len(added) < target:
        drawn = draw_constraint(ctx, [*constraints, *added], index, -1 - len(added), instruction)
        if drawn is None:
            break
        added.append(drawn)
    return (compose(instruction, added, rng) if added else instruction), added


def restate(instruction: str, constraints: list[dict]) -> str:
    """`instruction` with every constraint it no longer states stated again in a training phrasing (a
    rewrite by another operation may drop one: a record's constraints are always the ones its
    instruction states)."""
    missing = [c for c in constraints if not stated(instruction, c)]
    if not missing:
        return instruction
    try:
        return compose(instruction, missing, random.Random(f"restate:{instruction}"))
    except ValueError:  # a repeat-the-request constraint names an earlier wording of the task: say each one after it
        return " ".join([instruction.rstrip(), *(phrase(c) for c in missing)])


def reviewer_template(op: str) -> str:
    """Each operation is judged by what it is for: breadth by "a different task on the same topic"
    (`reviewer_breadth`), the in-depth operations by "harder to answer than before" (`reviewer`)."""
    return "reviewer_breadth" if op == "breadth" else "reviewer"


def review(ctx: Context, old: str, new: str, op: str) -> tuple[Verdict, int]:
    """Judge an evolution (elimination rules 1 and 4); returns the verdict and the queries it used."""
    verdict = check_instruction(old, new, op)
    if verdict is not None:
        resources(ctx).budget.release(1)  # the reviewer call was not needed
        return verdict, 0
    p_gain, text = ask_reviewer(ctx, "review", reviewer_template(op), {"old": old, "new": new})
    return judge(old, new, parse_judgement(text) if p_gain is None else p_gain >= ctx.review_threshold), 1


ONE_WORD = "Reply with exactly one word, Yes or No, and nothing else."
_MODE_LOCK = threading.Lock()


def ask_reviewer(ctx: Context, node: str, template, values: dict) -> tuple[float | None, str]:
    """A Yes/No question to the reviewer (one booked call): (P(Yes) against P(No) on the first reply
    token where log-probabilities come back, else None; the reply's text).

    Log-probabilities are asked for where the model takes them; whether they come back is learnt
    from the first reply (`Resources.reviewer_mode`: "logprobs", or "text" with a warning when they
    were asked for and ignored, as some OpenAI-compatible servers do). Either way the reply is one
    token (`review_tokens`, default 1): an in-process model continues the template's "Answer:"
    prefill; a model that cannot gets the question without that hint and with `ONE_WORD` appended,
    so that its single token is the verdict itself."""
    res = resources(ctx)
    tpl = res.templates[template] if isinstance(template, str) else template
    if not res.prefill["reviewer"]:
        sections = {k: v for k, v in tpl.sections.items() if k != "assistant"}
        tpl = replace(tpl, sections={**sections, "user": f"{sections.get('user', '').rstrip()}\n{ONE_WORD}\n"})
    asked = res.logprobs["reviewer"] and res.reviewer_mode != "text"
    extra = {"logprobs": True, "top_logprobs": 20} if asked else {}
    # with log-probabilities only the first token matters: one token, which an in-process model
    # answers with a single forward pass (a scoring request) instead of a generation
    _, reply = ask(ctx, "reviewer", node, tpl, values, 1 if asked else ctx.review_tokens, **extra)
    top = ((reply.response_metadata.get("logprobs") or {}).get("content") or [{}])[0].get("top_logprobs")
    if res.reviewer_mode is None:
        note_reviewer_mode(res, "logprobs" if top else "text", asked)
    return gain_probability(top), reply.text


def note_reviewer_mode(res, mode: str, asked: bool):
    """Set the reviewer mode the first reply showed, once per run; warn when log-probabilities were
    asked for and did not come back."""
    with _MODE_LOCK:
        if res.reviewer_mode is not None:
            return
        res.reviewer_mode = mode
    if mode == "text" and asked:
        log.warning("the reviewer model returned no log-probabilities; its verdicts are read from a one-word "
                    "Yes/No reply instead (reviewer_mode 'text')")
    else:
        log.info("reviewer_mode: %s", mode)


def gain_probabilities(ctx: Context, pairs: list[dict], concurrency: int = 8) -> list[float]:
    """The reviewer's P(gain) for each {"old", "new"} pair (with "op", the template that operation is
    judged by; without, the in-depth one), one booked call each (reserved here); where the model
    gives no log-probabilities, its Yes/No reply as 1 or 0. For calibration."""
    from concurrent.futures import ThreadPoolExecutor

    if not resources(ctx).budget.reserve(len(pairs)):
        raise InputError(f"the budget cannot fund {len(pairs)} reviewer calls", field="budget")

    def one(pair: dict) -> float:
        template = reviewer_template(pair.get("op", "deepen"))
        p_gain, text = ask_reviewer(ctx, "review", template, {"old": pair["old"], "new": pair["new"]})
        return p_gain if p_gain is not None else float(bool(parse_judgement(text)))

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, pairs))


def answer(ctx: Context, instruction: str, input_text: str = "", **kwargs) -> tuple[str, str | None]:
    """Answer through the responder; returns the answer and why it fails rules 2-3 (None if usable)."""
    return answers(ctx, instruction, input_text, 1, **kwargs)[0]


def answers(ctx: Context, instruction: str, input_text: str = "", n: int = 1, **kwargs) -> list[tuple[str, str | None]]:
    """`n` answers to one instruction (n calls reserved), each with why it fails rules 2-3 (None if usable)."""
    start, replies = ask_many(ctx, "responder", "respond", "responder", {"instruction": instruction, "input": input_text},
                              ctx.answer_tokens, n, **kwargs)
    texts = [(start + reply.text).strip() for reply in replies]
    return [(text, check_answer(text, ctx.answer_tokens)) for text in texts]


def reserve_up_to(budget, n: int) -> int:
    """Reserve as many of `n` calls as the budget funds (0 when none); returns how many."""
    while n > 0 and not budget.reserve(n):
        n -= 1
    return max(n, 0)


def checked_answer(ctx: Context, instruction: str, constraints: list[dict], input_text: str = ""):
    """An answer whose constraints are verified, sampled adaptively (the caller reserved one call).

    Without constraints: one answer at the run's temperature (`answer`). With constraints: rounds of
    `sample_batch` answers at `sample_temperature`, drawn in one request where the responder takes `n`
    (one at a time where it does not), until an answer passes the rules and every constraint
    (strict), or `answer_samples` answers were drawn, or the budget funds no more. Every answer is
    booked and verified; each verification is reported to the run's `on_verified` hook (the type
    draw learns pass rates from it, from answers as sampled). Ties: the first passing answer in
    sampling order is kept. With `repair` on, a round where none passes ends with the first usable
    answer that `constraints.repair` makes pass, when there is one. When none passes, the first
    usable answer is returned with its verification.

    Returns (answer, rule failure or None, verification or None, samples made, ids repaired)."""
    if not constraints:
        text, failure = answer(ctx, instruction, input_text)
        return text, failure, None, 1, []
    res = resources(ctx)
    batch = ctx.sample_batch if calls.takes_n(res.models.responder) else 1
    width = 1 + reserve_up_to(res.budget, min(batch, ctx.answer_samples) - 1)
    first = best = None
    samples = 0
    while width:
        drawn = answers(ctx, instruction, input_text, width, temperature=ctx.sample_temperature)
        samples += width
        for text, failure in drawn:
            verification = verify(text, constraints) if failure is None else None
            if verification is not None:
                for constraint, result in zip(constraints, verification["results"]):
                    res.draw.update(constraint["id"], result["strict"])  # the type draw learns pass rates
                if res.on_verified:
                    res.on_verified(constraints, verification)
            first = first or (text, failure, verification)
            if failure is None and (best is None or (verification["strict"] and not best[2]["strict"])):
                best = (text, None, verification)
        if best is not None and best[2]["strict"]:
            break
        fixed = repaired_answer(ctx, instruction, constraints, drawn)
        if fixed is not None:
            return fixed.text, None, fixed.verification, samples, fixed.repaired
        width = reserve_up_to(res.budget, min(batch, ctx.answer_samples - samples))
    return *(best or first), samples, []


def repaired_answer(ctx: Context, instruction: str, constraints: list[dict], drawn: list[tuple[str, str | None]]):
    """`constraints.Repaired` for the first usable answer of `drawn` that the registry's repairs make
    pass; None when `repair` is off or none can be repaired. The edited answer must still pass
    elimination rules 2-3."""
    if ctx.repair != "on":
        return None
    for text, failure in drawn:
        fixed = repair(text, constraints, instruction) if failure is None else None
        if fixed is not None and check_answer(fixed.text, ctx.answer_tokens) is None:
            return fixed
    return None


class FinalAnswer(NamedTuple):
    """How the main job answers a finished evolution (`final_answer`)."""
    instruction: str  # the instruction answered: the evolved one with the constraints it lacked stated
    constraints: list  # every constraint it carries: those of the evolution, then those added
    text: str  # the answer kept
    failure: str | None  # why the answer fails rules 2-3; None if usable
    verification: dict | None  # its verification against `constraints`; None without any or for an unusable answer
    samples: int  # answers drawn, each one booked
    repaired: list  # ids of the constraints the kept answer was edited to meet (`constraints.repair`); [] when none

    @property
    def verified(self) -> bool:
        """A verified answer, as `records.verified` counts a record: constraints, usable, every one met (strict)."""
        return bool(self.constraints) and self.failure is None and bool(self.verification and self.verification["strict"])


def final_answer(ctx: Context, instruction: str, constraints: list[dict], index: int, input_text: str = "") -> FinalAnswer:
    """The answer to an evolution's final instruction, as the main job makes it: the verifiable
    constraints it lacks added (`required_constraints`, seeded by `index`), then answers sampled until
    one meets them all (`checked_answer`; the caller reserved the first call). The graph's `respond`
    node and the policy's training environment both answer through this. May raise `StepFailed`."""
    instruction, added = required_constraints(ctx, instruction, constraints, index)
    constraints = constraints + added
    text, failure, verification, samples, repaired = checked_answer(ctx, instruction, constraints, input_text)
    return FinalAnswer(instruction, constraints, text, failure, verification, samples, repaired)


def improve_values(instruction: str, response: str, input_text: str = "") -> dict:
    """What the `improve` template is filled with, in PIT's training and at inference alike: the
    input joins the instruction (as in preference pairs), so `{input}` stays empty."""
    return {"instruction": prompt_of({"instruction": instruction, "input": input_text}), "response": response, "input": ""}


def improve(ctx: Context, instruction: str, response: str, input_text: str = "") -> str:
    """PIT: the improver's better answer."""
    return clean_answer(reply_text(ctx, "improver", "improve", "improve",
                                   improve_values(instruction, response, input_text), ctx.improve_tokens))


REWRITE_PREAMBLE = re.compile(r"^(?:(?:sure|certainly|okay)[,!.]?\s*)?here(?:'s| is)\s+(?:the|my|an?)\s+"
                              r"(?:rewritten|revised|improved|updated|better|new)\s+(?:response|answer|version)[^:\n]{0,40}:\s*",
                              re.IGNORECASE)


def clean_answer(text: str) -> str:
    """A rewritten answer without a "Here is the improved answer:" opener (the answer itself may say "Here are")."""
    return REWRITE_PREAMBLE.sub("", text, count=1).strip()


NO_ISSUES = re.compile(r"^\W*no issues\b", re.IGNORECASE)


def critique(ctx: Context, instruction: str, response: str, input_text: str = "") -> str:
    """Self-Refine: feedback on what to fix in `response`; see `satisfied` for "nothing to fix"."""
    return reply_text(ctx, "improver", "critique", "critique",
                      {"instruction": instruction, "response": response, "input": input_text}, ctx.improve_tokens)


def satisfied(feedback: str) -> bool:
    """Whether a critique finds nothing to fix: empty, or "NO ISSUES" (critique.txt's fixed reply)."""
    return not feedback.strip() or bool(NO_ISSUES.match(feedback)) or "NO ISSUES" in feedback


def refine(ctx: Context, instruction: str, response: str, feedback: str, input_text: str = "") -> str:
    """Self-Refine: `response` rewritten to apply `feedback`."""
    values = {"instruction": instruction, "response": response, "feedback": feedback, "input": input_text}
    return clean_answer(reply_text(ctx, "improver", "refine", "refine", values, ctx.improve_tokens))
