"""The reward of one transition of the policy's training environment, as a pure function of its terms.

    reward = gain + verify_weight * verified + novelty_weight * novelty - query_cost * queries

- gain: the reviewer's score (0 when eliminated, 0.5-1 when kept; `review.judge`); 0 for a STOP;
- novelty: 1 - MiniLM cosine of the kept instruction to the nearest instruction the run already
  kept (`novelty.py`); 0 for an eliminated step, which keeps nothing, and for a STOP;
- verified: on an episode's last transition only (the STOP, the step that reached `max_steps`, or
  the step the budget could not fund), 1 when its final instruction, answered once as the main job
  answers every record (`steps.final_answer`: the constraints it lacks added, answers sampled up to
  `answer_samples` until one meets them all), got a verified answer and the episode kept at least
  one evolution; 0 everywhere else;
- queries: the LLM calls the transition used: rewrite and review of an evolution step, plus every
  answer sampled on the last transition.

No single operation can earn all of it: the reviewer's gain, distance from what was kept and a
verified record at the end pay different operations, and every query costs the same.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RewardWeights:
    verify: float = 0.0  # per evolved episode ending in a verified record; 0: episodes are not answered
    # (an environment's defaults; train-policy passes PolicyTrainingConfig's, which reward_terms chose)
    novelty: float = 0.0  # per unit of novelty
    query_cost: float = 0.1  # per LLM query


def step_reward(gain: float, verified: bool, novelty: float, queries: int, weights: RewardWeights) -> float:
    return gain + weights.verify * float(verified) + weights.novelty * novelty - weights.query_cost * queries
