"""The reward's terms per operation under a uniform random router, and the weights they suggest.

Evolves the training seeds (the shipped seeds but every fifth, which validate) with operations
drawn uniformly at random, through the policy's training environment, and prints per operation the
mean reviewer score, verified share, novelty and queries of a step. It then picks the verification
and novelty weights (a grid of 0-1 in steps of 0.1) that make the operations' mean rewards closest
to one another (smallest max - min; ties: the smaller weights), so that no operation is worth more
than another before the policy has looked at the instruction: what it learns is then where each
operation pays, not which one pays everywhere. Writes the choice to OUT/weights.json, and the table
and the choice to a result file for the docs (`--result`, empty to skip).

    python benchmarks/reward_terms.py [--episodes 24] [--max-steps 3] [--budget 200] [--out runs/reward_terms]
                                      [--result results/reward_terms.json]
"""

import argparse
import json
import random
from pathlib import Path

from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.dataio.seeds import load_seeds
from teamsrl_graph.evolve.actions import OPERATIONS
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.policy.env import EvolutionEnv
from teamsrl_graph.policy.reward import RewardWeights, step_reward
from teamsrl_graph.policy.train import split_seeds, step_terms
from teamsrl_graph.running.budget import Budget

GRID = [round(0.1 * i, 1) for i in range(11)]


def choose(terms: dict, query_cost: float) -> tuple[float, float, float]:
    """(verify weight, novelty weight, spread of the per-operation mean rewards) with the smallest spread."""
    best = None
    for v in GRID:
        for n in GRID:
            weights = RewardWeights(verify=v, novelty=n, query_cost=query_cost)
            means = [step_reward(t["score"], t["verified"], t["novelty"], t["queries"], weights) for t in terms.values()]
            spread = max(means) - min(means)
            if best is None or spread < best[2] - 1e-9:
                best = (v, n, spread)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=24)
    ap.add_argument("--max-steps", type=int, default=3)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--query-cost", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/reward_terms")
    result_option(ap, "results/reward_terms.json")
    args = ap.parse_args()
    train, _ = split_seeds(load_seeds())
    draw = random.Random(args.seed)
    weights = RewardWeights(verify=1.0, novelty=1.0, query_cost=args.query_cost)  # every term measured
    with EvolutionEnv(Context(max_steps=args.max_steps), train, n_envs=args.episodes, weights=weights,
                      budget=Budget(max_queries=args.budget), seed=args.seed) as env:
        obs = env.reset()
        done = [False] * len(obs)
        while not all(done):
            obs, _, done = env.step([draw.choice(OPERATIONS) for _ in obs])
        steps = [s for e in env.episodes for s in e.history]
    terms = step_terms(steps)
    print(f"{len(steps)} steps, {env.budget.queries} queries, {len(train)} training seeds\n")
    print("| operation | steps | mean score | verified | novelty | queries |")
    print("|---|---|---|---|---|---|")
    for op, t in terms.items():
        print(f"| {op} | {t['n']} | {t['score']:.3f} | {t['verified']:.3f} | {t['novelty']:.3f} | {t['queries']:.2f} |")
    v, n, spread = choose(terms, args.query_cost)
    print(f"\nchosen: verify_weight {v}, novelty_weight {n} (spread of per-operation mean reward {spread:.3f})")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "weights.json").write_text(json.dumps({"verify_weight": v, "novelty_weight": n, "terms": terms}))
    record(args.result, result_of(terms, (v, n, spread), len(steps), env.budget.queries, len(train)))


def result_of(terms: dict, choice: tuple[float, float, float], steps: int, queries: int, seeds: int) -> dict:
    """write_result's arguments: the per-operation terms as a table, the chosen weights as figures."""
    v, n, spread = choice
    return {"title": "Reward terms per operation under a random router", "summary": (
        f"{seeds} training seeds evolved with operations drawn uniformly at random through the policy's training "
        f"environment ({steps} steps, {queries} queries): per operation the mean reviewer score, verified share, "
        "novelty and queries of a step; then the verification and novelty weights (0-1 in steps of 0.1) that make "
        "the operations' mean rewards closest to one another, so that no operation pays everywhere."),
        "columns": ["operation", "steps", "mean score", "verified", "novelty", "queries"],
        "rows": [[op, t["n"], round(t["score"], 3), round(t["verified"], 3), round(t["novelty"], 3), round(t["queries"], 2)]
                 for op, t in terms.items()],
        "figures": {"verify weight": v, "novelty weight": n, "spread of the per-operation mean reward": round(spread, 3)}}


if __name__ == "__main__":
    main()
