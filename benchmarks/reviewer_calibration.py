"""How well the reviewer tells real evolutions from paraphrases, on hand-labelled pairs.

Prints the ROC-AUC of P(yes) and the accuracy at each threshold, for the reviewer prompt in use.

    python benchmarks/reviewer_calibration.py [--model local] [--prompts DIR]
"""

import argparse
import json
from pathlib import Path

from teamsrl_graph.context import Context
from teamsrl_graph.evaluation.mia import auc
from teamsrl_graph.steps import gain_probabilities

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "data" / "review_pairs.jsonl"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="local")
    ap.add_argument("--prompts")
    args = ap.parse_args()
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines()]
    scores = gain_probabilities(Context(model=args.model, prompts=args.prompts), pairs)
    pos = [s for s, p in zip(scores, pairs) if p["gain"]]
    neg = [s for s, p in zip(scores, pairs) if not p["gain"]]
    print(f"pairs: {len(pairs)}  ROC-AUC of P(yes): {auc(pos, neg):.3f}")
    for t in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5):
        acc = (sum(s >= t for s in pos) + sum(s < t for s in neg)) / len(pairs)
        print(f"threshold {t:.2f}: accuracy {acc:.2f}  accepted gains {sum(s >= t for s in pos)}/{len(pos)}  "
              f"accepted paraphrases {sum(s >= t for s in neg)}/{len(neg)}")


if __name__ == "__main__":
    main()
