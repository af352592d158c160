"""How well the reviewer judges each kind of operation, on hand-labelled pairs.

Two judgements, two sets of pairs:
- in-depth operations (`tests/data/review_pairs.jsonl`): "is the new instruction harder to answer?"
  (`prompts/reviewer.txt`); a real gain is positive, a paraphrase or an identical task negative;
- breadth (`tests/data/review_pairs_breadth.jsonl`): "a different task on the same topic, not the old
  one reworded?" (`prompts/reviewer_breadth.txt`); a sound new task is positive, a paraphrase, an
  answer, an off-topic task or an in-depth rewrite of the same task negative. The breadth pairs are
  also put to the in-depth question, to show what judging breadth by gain did.

Prints, per judgement, the ROC-AUC of P(yes) and the accuracy at each threshold.

    python benchmarks/reviewer_calibration.py [--model local] [--prompts DIR]
"""

import argparse
import json
from pathlib import Path

from teamsrl_graph.evolve.context import Context
from teamsrl_graph.evaluation.mia import auc
from teamsrl_graph.evolve.steps import gain_probabilities

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def report(name: str, pairs: list[dict], scores: list[float]):
    pos = [s for s, p in zip(scores, pairs) if p["gain"]]
    neg = [s for s, p in zip(scores, pairs) if not p["gain"]]
    print(f"\n{name}: {len(pos)} positive, {len(neg)} negative pairs; ROC-AUC of P(yes): {auc(pos, neg):.3f}")
    for t in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5):
        acc = (sum(s >= t for s in pos) + sum(s < t for s in neg)) / len(pairs)
        print(f"  threshold {t:.2f}: accuracy {acc:.2f}  accepted positives {sum(s >= t for s in pos)}/{len(pos)}  "
              f"accepted negatives {sum(s >= t for s in neg)}/{len(neg)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="local")
    ap.add_argument("--prompts")
    args = ap.parse_args()
    read = lambda name: [json.loads(line) for line in (DATA / name).read_text().splitlines()]  # noqa: E731
    depth, breadth = read("review_pairs.jsonl"), read("review_pairs_breadth.jsonl")
    as_gain = [{**p, "op": "deepen"} for p in breadth]
    scores = gain_probabilities(Context(model=args.model, prompts=args.prompts), depth + breadth + as_gain)
    report("in-depth operations, gain question (reviewer.txt)", depth, scores[: len(depth)])
    report("breadth, new-task question (reviewer_breadth.txt)", breadth, scores[len(depth): len(depth) + len(breadth)])
    report("breadth pairs put to the gain question (before)", breadth, scores[len(depth) + len(breadth):])


if __name__ == "__main__":
    main()
