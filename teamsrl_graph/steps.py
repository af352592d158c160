"""The three LLM steps of TeaMs-RL as plain functions of a `Context`: rewrite, review, answer.

The graph's nodes wrap them, and anything else that needs one evolution step (the policy's training
environment, benchmarks) calls them directly, so there is one implementation of each. Every call is
booked in the context's budget, which the caller must have reserved beforehand: two calls for
rewrite + review (review gives one back when the free checks already decide), one for an answer.
"""

from __future__ import annotations

import logging

from .budget import count_tokens
from .context import Context
from .review import Verdict, check_answer, check_instruction, clean_rewrite, gain_probability, judge, parse_judgement

log = logging.getLogger("teamsrl.steps")


def ask(ctx: Context, role: str, node: str, template: str, values: dict, max_tokens: int, **kwargs):
    """Render `template`, call the model of `role`, book the call; return (prefill used, AIMessage)."""
    res = ctx.resources()
    model, prefill = getattr(res["models"], role), res["prefill"][role]
    tpl = res["templates"][template]
    messages = tpl.render(values, prefill=prefill)
    reply = model.invoke(messages, max_tokens=max_tokens, **kwargs)
    usage = getattr(reply, "usage_metadata", None) or {}
    prompt_tokens = usage.get("input_tokens") or sum(count_tokens(m.text) for m in messages)
    completion_tokens = usage.get("output_tokens") or count_tokens(reply.text)
    res["budget"].record(role, node, prompt_tokens, completion_tokens)
    log.debug("%s/%s: %d+%d tokens", role, node, prompt_tokens, completion_tokens)
    return (tpl.prefill_for(values) if prefill else ""), reply


def rewrite(ctx: Context, op: str, instruction: str, input_text: str = "") -> str:
    """Apply operation `op` through the expert; returns the cleaned candidate instruction."""
    start, reply = ask(ctx, "expert", op, op, {"instruction": instruction, "input": input_text}, ctx.rewrite_tokens)
    return clean_rewrite(reply.text, prefill=start)


def review(ctx: Context, old: str, new: str, op: str) -> tuple[Verdict, int]:
    """Judge an evolution (elimination rules 1 and 4); returns the verdict and the queries it used."""
    verdict = check_instruction(old, new, op)
    if verdict is not None:
        ctx.resources()["budget"].release(1)  # the reviewer call was not needed
        return verdict, 0
    extra = {"logprobs": True, "top_logprobs": 20} if ctx.resources()["logprobs"]["reviewer"] else {}
    _, reply = ask(ctx, "reviewer", "review", "reviewer", {"old": old, "new": new}, ctx.review_tokens, **extra)
    top = ((reply.response_metadata.get("logprobs") or {}).get("content") or [{}])[0].get("top_logprobs")
    p_gain = gain_probability(top)
    return judge(old, new, parse_judgement(reply.text) if p_gain is None else p_gain >= ctx.review_threshold), 1


def answer(ctx: Context, instruction: str, input_text: str = "") -> tuple[str, str | None]:
    """Answer through the responder; returns the answer and why it fails rules 2-3 (None if usable)."""
    start, reply = ask(ctx, "responder", "respond", "responder", {"instruction": instruction, "input": input_text},
                       ctx.answer_tokens)
    text = (start + reply.text).strip()
    return text, check_answer(text)
