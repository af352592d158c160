"""The reward's terms per operation under a uniform random router, and the weights they suggest.

Evolves the training seeds (the shipped seeds but every fifth, which validate) through the policy's
training environment, with `train-policy`'s defaults: its episode length and the main job's
answering settings (`PolicyTrainingConfig`, from `teamsrl pipeline`), so each finished episode is
answered once as the main job answers a record. An episode's first action is drawn uniformly from
the six operations and STOP, every later one from the operations; batches of episodes run until
every operation has taken at least `--steps-per-op` evolution steps, or the budget ends them.

Per operation it prints the steps taken, the mean reviewer score, novelty and queries of a step
(rewrite and review), and for the episodes whose last evolution was that operation (the terminal
credit is theirs): how many, the share whose answer was verified and credited (an evolution kept),
and the answers sampled. A STOP row gives the episodes stopped at step 0: their verified share (a
seed answered, never credited) and samples. It then picks the weights on a grid of 0-1 in steps of
0.1:
- verification: the break-even credit, the smallest weight at which a verified record pays for the
  queries a mean episode spends (query cost x the queries of its evolution steps and answers), so
  that verification always counts and a verified record is worth at least what it costs;
- novelty: at that verification weight, the one that brings the operations' mean rewards per step,
  terminal credit included, closest to one another (smallest max - min; ties: the smaller weight),
  so that novelty evens out the operations rather than adding to the one the reviewer favours.
Writes the measurements and the choice to OUT/weights.json (`--reuse` reads the measurements back
from there and only chooses again), and the table and the choice to a result file for the docs
(`--result`, empty to skip). At 30 steps per operation it takes about 250 steps and 800 queries.

    python benchmarks/reward_terms.py [--steps-per-op 30] [--envs 16] [--budget 1500] [--out runs/reward_terms]
                                      [--result results/reward_terms.json]
"""

import argparse
import json
import logging
import random
from collections import Counter
from pathlib import Path

from teamsrl_graph.commands.pipeline import ANSWERING
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.dataio.seeds import load_seeds
from teamsrl_graph.evolve.actions import OPERATIONS, STOP
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.policy.config import PolicyTrainingConfig
from teamsrl_graph.policy.env import EvolutionEnv
from teamsrl_graph.policy.reward import RewardWeights, step_reward
from teamsrl_graph.policy.train import split_seeds
from teamsrl_graph.running.budget import Budget

GRID = [round(0.1 * i, 1) for i in range(11)]
log = logging.getLogger("reward_terms")


def run_episodes(env: EvolutionEnv, steps_per_op: int, draw: random.Random) -> list[tuple]:
    """Batches of episodes with random actions until every operation has `steps_per_op` steps or the
    budget is spent; returns each finished episode with its first action."""
    finished, steps = [], Counter()
    while not env.exhausted and min(steps[op] for op in OPERATIONS) < steps_per_op:
        obs = env.reset()
        first = [draw.choice([*OPERATIONS, STOP]) for _ in obs]
        done = [False] * len(obs)
        while not all(done):
            obs, _, done = env.step([first[i] if o.step == 0 else draw.choice(OPERATIONS) for i, o in enumerate(obs)])
        finished += list(zip(env.episodes, first))
        steps.update(h["op"] for e in env.episodes for h in e.history)
        log.info("%d episodes, %d queries; fewest steps of an operation %d of %d", len(finished), env.budget.queries,
                 min(steps[op] for op in OPERATIONS), steps_per_op)
    return finished


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def measure(finished: list[tuple]) -> tuple[dict, dict]:
    """(terms per operation, the STOP row) of finished episodes: per operation n steps and their mean
    score, novelty and queries (rewrite + review), and of the episodes it ended, how many, their
    credited verified share and mean answer samples; STOP: the episodes stopped at step 0, their
    verified share and mean samples."""
    entries = [h for e, _ in finished for h in e.history]
    terms = {}
    for op in OPERATIONS:
        mine, ended = [h for h in entries if h["op"] == op], [e for e, _ in finished if e.history and e.history[-1]["op"] == op]
        terms[op] = {"n": len(mine), "score": mean(h["score"] for h in mine), "novelty": mean(h["novelty"] for h in mine),
                     "queries": mean(h["queries"] - h["samples"] for h in mine), "ended": len(ended),
                     "verified": mean(e.verified and e.evolved for e in ended), "samples": mean(e.samples for e in ended)}
    stopped = [e for e, first in finished if first == STOP]
    stop = {"episodes": len(stopped), "verified": mean(e.verified for e in stopped), "samples": mean(e.samples for e in stopped)}
    return terms, stop


def mean_reward(t: dict, weights: RewardWeights) -> float:
    """An operation's mean reward per step: its own terms, plus the terminal credit of the episodes it
    ended spread over its steps."""
    credit = step_reward(0.0, t["verified"], 0.0, t["samples"], weights) * t["ended"] / max(1, t["n"])
    return step_reward(t["score"], False, t["novelty"], t["queries"], weights) + credit


def episode_queries(terms: dict, stop: dict, episodes: int) -> float:
    """The mean queries of an episode: its evolution steps' rewrites and reviews, and its answers."""
    spent = sum(t["n"] * t["queries"] + t["ended"] * t["samples"] for t in terms.values())
    return (spent + stop["episodes"] * stop["samples"]) / max(1, episodes)


def choose(terms: dict, stop: dict, episodes: int, query_cost: float) -> tuple[float, float, float, float]:
    """(verify weight, novelty weight, spread of the per-operation mean rewards, queries of a mean
    episode): the break-even verification weight, then the novelty weight with the smallest spread at it."""
    per_episode = episode_queries(terms, stop, episodes)
    price = query_cost * per_episode
    v = next((w for w in GRID if w >= price - 1e-9), GRID[-1])
    best = None
    for n in GRID:
        weights = RewardWeights(verify=v, novelty=n, query_cost=query_cost)
        means = [mean_reward(t, weights) for t in terms.values() if t["n"]]
        spread = max(means) - min(means)
        if best is None or spread < best[2] - 1e-9:
            best = (v, n, spread, per_episode)
    return best


def main():
    defaults = PolicyTrainingConfig(out="-")
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps-per-op", type=int, default=30, help="evolution steps each operation takes at least")
    ap.add_argument("--envs", type=int, default=16, help="episodes run side by side")
    ap.add_argument("--max-steps", type=int, default=defaults.max_steps)
    ap.add_argument("--budget", type=int, default=1500, help="cap on queries; the run stops sooner when every operation has its steps")
    ap.add_argument("--query-cost", type=float, default=defaults.query_cost)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/reward_terms")
    ap.add_argument("--reuse", action="store_true", help="read the measurements back from OUT/weights.json; only choose again")
    result_option(ap, "results/reward_terms.json")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    saved = Path(args.out) / "weights.json"
    if args.reuse:
        measured = json.loads(saved.read_text())
    else:
        train, _ = split_seeds(load_seeds())
        answering = {name: getattr(defaults, name) for name in ANSWERING}
        weights = RewardWeights(verify=1.0, novelty=1.0, query_cost=args.query_cost)  # every term measured
        with EvolutionEnv(Context(max_steps=args.max_steps, **answering), train, n_envs=args.envs, weights=weights,
                          budget=Budget(max_queries=args.budget), seed=args.seed) as env:
            finished = run_episodes(env, args.steps_per_op, random.Random(args.seed))
        terms, stop = measure(finished)
        measured = {"terms": terms, "stop": stop, "episodes": len(finished), "queries": env.budget.queries,
                    "seeds": len(train)}
    terms, stop, episodes = measured["terms"], measured["stop"], measured["episodes"]
    choice = choose(terms, stop, episodes, args.query_cost)
    result = result_of(terms, stop, choice, episodes, measured["queries"], measured["seeds"], args.query_cost)
    print(f"{episodes} episodes, {measured['queries']} queries, {measured['seeds']} training seeds\n")
    print("| " + " | ".join(result["columns"]) + " |\n|" + "---|" * len(result["columns"]))
    for row in result["rows"]:
        print("| " + " | ".join("" if c is None else str(c) for c in row) + " |")
    v, n, spread, per_episode = choice
    print(f"\nchosen: verify_weight {v}, novelty_weight {n} (a mean episode spends "
          f"{per_episode:.2f} queries; spread of per-operation mean reward {spread:.3f})")
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps({"verify_weight": v, "novelty_weight": n, **measured}))
    record(args.result, result)


def result_of(terms: dict, stop: dict, choice: tuple[float, float, float, float], episodes: int, queries: int,
              seeds: int, query_cost: float = 0.1) -> dict:
    """write_result's arguments: the per-operation terms and the STOP row as a table, `choose`'s choice as figures."""
    v, n, spread, per_episode = choice
    weights = RewardWeights(verify=v, novelty=n, query_cost=query_cost)
    rows = [[op, t["n"], round(t["score"], 3), round(t["novelty"], 3), round(t["queries"], 2), t["ended"],
             round(t["verified"], 3), round(t["samples"], 2), round(mean_reward(t, weights), 3)] for op, t in terms.items()]
    stop_reward = step_reward(0.0, False, 0.0, stop["samples"], weights)  # a seed answered: never credited
    rows.append(["STOP at step 0", None, None, None, None, stop["episodes"], round(stop["verified"], 3),
                 round(stop["samples"], 2), round(stop_reward, 3)])
    return {"title": "Reward terms per operation under a random router", "summary": (
        f"{seeds} training seeds evolved with actions drawn uniformly at random through the policy's training "
        f"environment ({episodes} episodes, {queries} queries), each finished episode answered once as the main job "
        "answers a record: per operation the mean reviewer score, novelty and queries of a step, and of the episodes "
        "whose last evolution it was, the share verified and credited and the answers sampled; STOP at step 0 answers "
        "the seed (verified share shown, never credited). Then the weights, on a grid of 0-1 in steps of 0.1: "
        "verification at the break-even credit, the smallest weight at which a verified record pays for the queries of "
        "a mean episode; novelty, at that weight, the one that brings the operations' mean rewards per step, terminal "
        "credit included, closest to one another."),
        "columns": ["operation", "steps", "mean score", "novelty", "queries per step", "episodes it ended",
                    "verified (credited)", "answer samples", "mean reward at the chosen weights"],
        "rows": rows,
        "figures": {"verify weight": v, "novelty weight": n,
                    "queries of a mean episode": round(per_episode, 2),
                    "spread of the per-operation mean reward": round(spread, 3),
                    "mean reward of STOP at step 0": round(stop_reward, 3)}}


if __name__ == "__main__":
    main()
