"""The reward of one evolution step, as a pure function of its four measured terms.

    reward = gain + verify_weight * verified + novelty_weight * novelty - query_cost * queries

- gain: the reviewer's score (0 when eliminated, 0.5-1 when kept; `review.judge`);
- verified: 1 when the kept instruction carries constraints and one of the answers sampled for it
  (`steps.checked_answer`, up to `answer_samples`) met them all;
- novelty: 1 - MiniLM cosine of the kept instruction to the nearest instruction the run already
  kept (`novelty.py`); 0 for an eliminated step, which keeps nothing;
- queries: the LLM calls the step used (rewrite, review, every answer sampled to verify it).

No single operation can earn all of it: add_constraints is the one that gets verified, breadth the
one that moves furthest from what was kept, and every query costs the same.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RewardWeights:
    verify: float = 0.0  # per verified step (defaults: those of PolicyTrainingConfig)
    novelty: float = 0.0  # per unit of novelty
    query_cost: float = 0.1  # per LLM query


def step_reward(gain: float, verified: bool, novelty: float, queries: int, weights: RewardWeights) -> float:
    return gain + weights.verify * float(verified) + weights.novelty * novelty - weights.query_cost * queries
