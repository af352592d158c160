"""Per-conversation completion loss: the mean negative log-likelihood of the last (assistant) turn
given everything before it, rendered with the model's chat template, as the fine-tuning loss is.
These losses feed the held-out loss / perplexity and the membership-inference audit."""

from __future__ import annotations

import math

from ..models.local import chat_ids


def completion_losses(model, tokenizer, conversations: list[dict], max_length: int = 1024,
                      desc: str = "losses") -> list[tuple[float, int]]:
    """(mean loss, number of completion tokens) per conversation, one forward pass each."""
    import torch
    from tqdm.auto import tqdm

    results = []
    for conversation in tqdm(conversations, desc=desc, leave=False):
        prompt = chat_ids(tokenizer, conversation["messages"][:-1], generation_prompt=True)
        full = chat_ids(tokenizer, conversation["messages"], generation_prompt=False)[:max_length]
        start = next((i for i, (a, b) in enumerate(zip(prompt, full)) if a != b), min(len(prompt), len(full)))
        if start >= len(full):  # the prompt alone fills max_length: nothing left to score
            results.append((math.nan, 0))
            continue
        ids = torch.tensor([full], device=model.device)
        labels = ids.clone()
        labels[0, :start] = -100
        with torch.inference_mode():
            loss = model(input_ids=ids, labels=labels).loss
        results.append((float(loss), len(full) - start))
    return results


def mean_loss(results: list[tuple[float, int]]) -> float:
    """Token-weighted mean loss over conversations (perplexity is its exponential)."""
    scored = [(loss, n) for loss, n in results if n]
    return sum(loss * n for loss, n in scored) / sum(n for _, n in scored)
