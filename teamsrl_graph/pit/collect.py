"""Preference pairs made by the graph's own models, with no human labels.

For every instruction the responder samples answers until there are `samples` (the record's own
answer, when it has one, is the first). Each usable answer gets a rating in [0, 1], a weighted mean
of three parts (weights in `RATING`, configurable):
- reviewer: the reviewer's judgement with the `rate_answer` template (P(Yes) on the first reply
  token where the model gives log-probabilities, else the word); one call per answer;
- relevance: the MiniLM cosine between instruction and answer (offline, no call);
- fluency: the share of distinct word trigrams (a looping answer scores low; no call).
Answers that fail elimination rules 2-3 (empty, refusal, stop words only) rate 0 without a call.
When the record carries verifiable constraints, answers rank first by compliance (the share of
its constraints an answer satisfies, by the registry's strict verifiers) and then by rating
(`ranked_pair`). The best and worst ranked answers become (chosen, rejected) when compliance tells
them apart or their ratings differ by at least `min_margin`; the rejected one is a usable answer
whenever two are. Every call is booked in the
context's budget: an instruction starts only when all its calls can be reserved, and calls the
free checks save are given back.

The parts beyond the reviewer exist because a small reviewer's judgement of answers is close to
chance (the embedded 135M model rates correct and wrong arithmetic alike); with a capable reviewer,
raise its weight or set the others to 0. `compliance_pair` makes a pair from answers already sampled,
by the verifiers alone (no call, no budget).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from ..common import prompts
from ..evolve import steps
from ..constraints import verify
from ..evolve.context import Context
from ..common.errors import InputError
from ..common.parallel import each
from ..evolve.review import ANSWER_TOKENS, check_answer, parse_judgement
from ..dataio.records import prompt_of
from ..evolve.resources import resources
from .preferences import Preference

log = logging.getLogger(__name__)


@dataclass
class Collected:
    preferences: list[Preference]  # the pairs, in the order of the instructions
    instructions: int  # instructions offered
    skipped_budget: int  # instructions the budget could not fund
    no_margin: int  # instructions whose best and worst answers rated (nearly) the same
    queries: int  # LLM calls booked in the budget by this collection
    by_compliance: int = 0  # pairs whose answers the constraint verifiers told apart

    def summary(self) -> dict:
        return {"pairs": len(self.preferences), "instructions": self.instructions, "by_compliance": self.by_compliance,
                "skipped_budget": self.skipped_budget, "no_margin": self.no_margin, "queries": self.queries}


RATING = {"reviewer": 1.0, "relevance": 1.0, "fluency": 1.0}  # default weights of an answer's rating parts


def rate(ctx: Context, template: prompts.Template, instruction: str, response: str) -> float:
    """The reviewer's judgement of one answer in [0, 1] (one call)."""
    p_yes, text = steps.ask_reviewer(ctx, "rate", template, {"instruction": instruction, "response": response})
    return p_yes if p_yes is not None else float(bool(parse_judgement(text)))


def fluency(answer: str) -> float:
    """The share of distinct word trigrams: 1 for text that never repeats itself, near 0 for a loop."""
    words = answer.lower().split()
    grams = [tuple(words[i:i + 3]) for i in range(len(words) - 2)]
    return len(set(grams)) / len(grams) if grams else 1.0


def relevance(instruction: str, answers: list[str]) -> list[float]:
    """Cosine similarity of each answer to the instruction (MiniLM, offline), floored at 0."""
    from ..common.embeddings import default_embedder

    vectors = default_embedder()([instruction, *answers])
    return (vectors[1:] @ vectors[0]).clamp(min=0).tolist()


def collect_one(ctx: Context, template: prompts.Template, record: dict, samples: int, temperature: float,
                min_margin: float, weights: dict[str, float]) -> tuple[str, Preference | None]:
    """("ok" | "verified" | "skipped_budget" | "no_margin", the pair or None) for one graph record;
    "verified" when constraint compliance decided the pair."""
    budget, ask = resources(ctx).budget, weights.get("reviewer", 0) > 0
    answers = [record["response"].strip()] if (record.get("response") or "").strip() else []
    new = samples - len(answers)
    if not budget.reserve(new + (samples if ask else 0)):
        return "skipped_budget", None
    instruction, values = prompt_of(record), {"instruction": record["instruction"], "input": record.get("input") or ""}
    answers += [steps.reply_text(ctx, "responder", "sample", "responder", values, ctx.answer_tokens,
                                 temperature=temperature) for _ in range(new)]
    usable, failed = split_answers(answers)  # failed: empty, refused, rated 0 for free
    if ask:
        budget.release(samples - len(usable))  # the free rules (and duplicates) saved these calls
    parts = {"relevance": relevance(instruction, usable), "fluency": [fluency(a) for a in usable],
             "reviewer": [rate(ctx, template, instruction, a) for a in usable] if ask else [0.0] * len(usable)}
    total = sum(weights.values())
    ratings = [sum(weights.get(k, 0) * parts[k][i] for k in parts) / total for i in range(len(usable))]
    pair = ranked_pair(usable, ratings, failed, record.get("constraints") or [], min_margin)
    if pair is None:
        return "no_margin", None
    chosen, rejected, margin, by_compliance = pair
    return ("verified" if by_compliance else "ok"), Preference(prompt=instruction, chosen=chosen, rejected=rejected,
                                                               id=record.get("id", ""), margin=margin)


def split_answers(answers: list[str], max_tokens: int | None = ANSWER_TOKENS) -> tuple[list[str], list[str]]:
    """(usable, failed): the distinct answers (identical samples are one candidate), split by
    elimination rules 2-3 (`check_answer` under `max_tokens`)."""
    distinct = list(dict.fromkeys(answers))
    return [a for a in distinct if not check_answer(a, max_tokens)], [a for a in distinct if check_answer(a, max_tokens)]


def compliance_pair(prompt: str, answers: list[str], constraints: list[dict], id: str = "",
                    max_tokens: int | None = ANSWER_TOKENS) -> Preference | None:
    """A pair the verifiers alone decide, with no model call: `answers` to one constrained instruction
    ranked as `ranked_pair` ranks them (compliance first; fluency orders answers that comply
    equally); None unless compliance tells the chosen answer from the rejected one."""
    usable, failed = split_answers(answers, max_tokens)
    pair = ranked_pair(usable, [fluency(a) for a in usable], failed, constraints, math.inf)
    if pair is None or not pair[3]:
        return None
    chosen, rejected, margin, _ = pair
    return Preference(prompt=prompt, chosen=chosen, rejected=rejected, id=id, margin=margin)


def compliance_pairs(items: list[dict], samples: list[list[str]], max_tokens: int | None = ANSWER_TOKENS) -> list[Preference]:
    """`compliance_pair` of each constrained instruction (`items`: {"prompt", "constraints"}) and its
    sampled answers, ids the instructions' positions; instructions compliance cannot decide are left out."""
    return [p for i, (item, answers) in enumerate(zip(items, samples, strict=True))
            if (p := compliance_pair(item["prompt"], answers, item["constraints"], id=str(i), max_tokens=max_tokens))]


def compliance(answer: str, constraints: list[dict]) -> float:
    """The share of `constraints` the answer satisfies (strict verifiers); 0 without constraints."""
    results = verify(answer, constraints)["results"]
    return sum(r["strict"] for r in results) / len(results) if results else 0.0


def ranked_pair(usable: list[str], ratings: list[float], failed: list[str], constraints: list[dict],
                min_margin: float) -> tuple[str, str, float, bool] | None:
    """(chosen, rejected, margin, decided by compliance) for one instruction's answers, or None.

    Answers rank by constraint compliance first (partial credit: the share of constraints an answer
    satisfies), then by their rating; failed answers (`failed`) count as complying with nothing and
rate 0. The best is chosen, the worst
    rejected (a usable answer whenever there are two: the improver only sees usable answers at
    inference). The margin is the compliance gap when compliance tells them apart, else the rating
    gap, which must reach `min_margin`.
    """
    ranked = [(compliance(a, constraints), r, a) for a, r in zip(usable, ratings)]
    pool = ranked + [(0.0, 0.0, a) for a in failed]
    if not ranked or len(pool) < 2:
        return None
    best = max(pool, key=lambda x: x[:2])
    worst = min(ranked if len(ranked) > 1 else pool, key=lambda x: x[:2])
    if best[2] == worst[2]:
        return None
    if best[0] > worst[0]:
        return best[2], worst[2], round(best[0] - worst[0], 4), True
    if best[1] - worst[1] < min_margin:
        return None
    return best[2], worst[2], round(best[1] - worst[1], 4), False


def rating_weights(weights: dict[str, float] | None) -> dict[str, float]:
    """`weights` (default `RATING`) checked: parts of RATING only, each 0 or more, not all 0."""
    weights = dict(RATING if weights is None else weights)
    if set(weights) - set(RATING) or sum(weights.values()) <= 0 or min(weights.values()) < 0:
        raise InputError(f"rating weights must be non-negative, not all zero, among {sorted(RATING)}; got {weights}",
                         field="weights")
    return weights


def collect_preferences(records: list[dict], context: Context, samples: int = 3, temperature: float = 0.8,
                        min_margin: float = 0.05, weights: dict[str, float] | None = None, concurrency: int = 8,
                        progress: bool = True) -> Collected:
    """Preference pairs for graph `records` (dicts with `instruction`, optional `input` and `response`).

    `weights` sets how the parts of a rating ("reviewer", "relevance", "fluency") add up (default
    `RATING`, equal); a reviewer weight of 0 makes no reviewer calls at all."""
    weights = rating_weights(weights)
    template = prompts.load("rate_answer", context.prompts)
    budget = resources(context).budget
    before = budget.queries
    results: list[tuple[str, Preference | None]] = [("", None)] * len(records)
    def one(i: int):
        results[i] = collect_one(context, template, records[i], samples, temperature, min_margin, weights)

    each(one, len(records), concurrency, "preferences", "instruction", progress)
    status = [s for s, _ in results]
    collected = Collected([p for _, p in results if p], len(records), status.count("skipped_budget"),
                          status.count("no_margin"), budget.queries - before, status.count("verified"))
    log.info("%d preference pairs from %d instructions (%d queries)", len(collected.preferences), len(records),
             collected.queries)
    return collected
