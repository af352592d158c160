"""Paired comparison of two models that answered the same prompts, each answer passing or failing.

`paired(base, finetuned)` takes one pass/fail per prompt for each model (same order) and returns
both accuracies, their difference, the discordant counts (`gained`: the fine-tuned model passes
where the base fails; `lost`: the reverse), the exact two-sided McNemar p-value (a binomial test
of `gained` against `gained + lost` at one half) and a seeded 95% paired bootstrap interval of
the difference. Pairing is what makes a small change visible: prompts both models pass or both
fail carry no information about the difference and add no noise to it. Pure functions; no I/O.
"""

from __future__ import annotations

import math
import random

RESAMPLES = 2000  # bootstrap resamples of the prompts
SEED = 0  # fixes the bootstrap, so the same answers always give the same interval


def mcnemar(gained: int, lost: int) -> float:
    """Exact two-sided McNemar p-value: P(a split at least as uneven as gained:lost) under a fair coin."""
    discordant = gained + lost
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, k) for k in range(min(gained, lost) + 1)) / 2 ** discordant
    return min(1.0, 2 * tail)


def bootstrap_interval(differences: list[int], resamples: int = RESAMPLES, seed: int = SEED,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean of `differences` (one per prompt) over prompt resamples."""
    rng = random.Random(seed)
    n = len(differences)
    means = sorted(sum(rng.choices(differences, k=n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    return means[int(tail * resamples)], means[min(resamples - 1, int((1 - tail) * resamples))]


def paired(base: list[bool], finetuned: list[bool], resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """{"n", "base", "finetuned", "difference", "gained", "lost", "p_value", "interval"} for
    per-prompt pass/fail lists of the two models (accuracies and difference as fractions)."""
    if len(base) != len(finetuned):
        raise ValueError(f"{len(base)} base results but {len(finetuned)} fine-tuned ones")
    if not base:
        raise ValueError("no prompts to compare")
    n = len(base)
    differences = [int(bool(f)) - int(bool(b)) for b, f in zip(base, finetuned)]
    gained, lost = differences.count(1), differences.count(-1)
    low, high = bootstrap_interval(differences, resamples, seed)
    return {
        "n": n,
        "base": round(sum(map(bool, base)) / n, 4),
        "finetuned": round(sum(map(bool, finetuned)) / n, 4),
        "difference": round((gained - lost) / n, 4),
        "gained": gained,
        "lost": lost,
        "p_value": round(mcnemar(gained, lost), 6),
        "interval": [round(low, 4), round(high, 4)],
    }


HEADLINE = ("n", "base", "finetuned", "p_value", "interval", "gained", "lost")  # what a summary keeps of `paired`


def brief(stats: dict | None) -> dict | None:
    """The `HEADLINE` fields of a `paired` result (None stays None)."""
    return None if stats is None else {k: stats[k] for k in HEADLINE}
