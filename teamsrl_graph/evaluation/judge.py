"""Win rate of the fine-tuned model over its base, judged pairwise by the reviewer role.

Both models answer the same held-out instructions (greedy decoding). The judge sees each pair twice,
once with the fine-tuned answer first and once second (template `judge_pair`, which asks for "A" or
"B"), because small judges favour one position. A pair counts as a win or a loss only when both
orders agree; otherwise it is a tie. Win rate = (wins + ties / 2) / pairs, so 0.5 = no preference.
"""

from __future__ import annotations

import re

from ..common import prompts
from ..models.factory import supports_prefill

VERDICT = re.compile(r"\b([AB])\b")


def generate_answers(generator, conversations: list[dict], max_new_tokens: int, batch_size: int,
                     desc: str = "answers") -> list[str]:
    """Greedy answers to each conversation's prompt turns, `batch_size` at a time, in the given order.
    Prompts of similar length share a batch (longest first), so left padding wastes little and a
    batch too big for memory fails at once rather than at the end; a batch also stays within
    `offline.MAX_BATCH_TOKENS` padded prompt tokens, so a long prompt goes with few others."""
    from ..models.local import chat_ids
    from ..models.offline import complete_all

    prompts_ids = [chat_ids(generator.tokenizer, c["messages"][:-1], generation_prompt=True) for c in conversations]
    order = sorted(range(len(prompts_ids)), key=lambda i: -len(prompts_ids[i]))
    texts = complete_all(generator, [prompts_ids[i] for i in order], max_new_tokens, 0.0, batch_size, desc)
    answers = [""] * len(texts)
    for i, text in zip(order, texts):
        answers[i] = text
    return answers


def parse_verdict(text: str) -> str | None:
    """"A" or "B": the first standalone capital A or B in the judge's reply; None if there is none."""
    match = VERDICT.search(text)
    return match.group(1) if match else None


def outcome(finetuned_first: str | None, finetuned_second: str | None) -> str:
    """"finetuned", "base" or "tie" from the verdicts of the two orders."""
    if finetuned_first == "A" and finetuned_second == "B":
        return "finetuned"
    if finetuned_first == "B" and finetuned_second == "A":
        return "base"
    return "tie"


def judge_pairs(judge, template: prompts.Template, instructions: list[str], finetuned: list[str],
                base: list[str]) -> list[dict]:
    """Ask `judge` (a LangChain chat model) about every pair in both orders, with the `judge_pair`
    template; one dict per pair."""
    prefill = supports_prefill(judge)
    requests = []
    for instruction, ours, theirs in zip(instructions, finetuned, base):
        requests.append(template.render({"instruction": instruction, "first": ours, "second": theirs}, prefill=prefill))
        requests.append(template.render({"instruction": instruction, "first": theirs, "second": ours}, prefill=prefill))
    replies = [reply.text for reply in judge.batch(requests, config={"max_concurrency": 8})]
    pairs = []
    for i, instruction in enumerate(instructions):
        first, second = parse_verdict(replies[2 * i]), parse_verdict(replies[2 * i + 1])
        pairs.append({"instruction": instruction, "finetuned": finetuned[i], "base": base[i],
                      "verdict_finetuned_first": first, "verdict_finetuned_second": second,
                      "outcome": outcome(first, second)})
    return pairs


def win_rate(pairs: list[dict]) -> dict:
    """Counts, the win rate, and how often the judge picked the first position (its order bias)."""
    wins = sum(p["outcome"] == "finetuned" for p in pairs)
    losses = sum(p["outcome"] == "base" for p in pairs)
    verdicts = [v for p in pairs for v in (p["verdict_finetuned_first"], p["verdict_finetuned_second"])]
    parsed = [v for v in verdicts if v]
    return {
        "pairs": len(pairs),
        "wins": wins,
        "losses": losses,
        "ties": len(pairs) - wins - losses,
        "win_rate": round((wins + (len(pairs) - wins - losses) / 2) / len(pairs), 4) if pairs else None,
        "first_position_rate": round(parsed.count("A") / len(parsed), 4) if parsed else None,
        "unparsed_verdicts": len(verdicts) - len(parsed),
    }
