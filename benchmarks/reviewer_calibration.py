"""How well the reviewer judges each kind of operation, on hand-labelled pairs.

Two judgements, two sets of pairs:
- in-depth operations (`tests/data/review_pairs.jsonl`): "is the new instruction harder to answer?"
  (`prompts/reviewer.txt`); a real gain is positive, a paraphrase or an identical task negative;
- breadth (`tests/data/review_pairs_breadth.jsonl`): "a different task on the same topic, not the old
  one reworded?" (`prompts/reviewer_breadth.txt`); a sound new task is positive, a paraphrase, an
  answer, an off-topic task or an in-depth rewrite of the same task negative. The breadth pairs are
  also put to the in-depth question, to show what judging breadth by gain did.

Prints, per judgement, the ROC-AUC of P(yes) and the accuracy at each threshold, and writes them to a
result file for the docs (`--result`, empty to skip).

    python benchmarks/reviewer_calibration.py [--model local] [--prompts DIR] [--result results/reviewer_calibration.json]
"""

import argparse
import json
from pathlib import Path

from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.evaluation.mia import auc
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.evolve.steps import gain_probabilities

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def calibration(pairs: list[dict], scores: list[float]) -> dict:
    """P(yes) of the positive and the negative pairs, the ROC-AUC, and the accuracy at each threshold."""
    pos = [s for s, p in zip(scores, pairs) if p["gain"]]
    neg = [s for s, p in zip(scores, pairs) if not p["gain"]]
    accuracy = {t: (sum(s >= t for s in pos) + sum(s < t for s in neg)) / len(pairs) for t in THRESHOLDS}
    return {"pos": pos, "neg": neg, "auc": auc(pos, neg), "accuracy": accuracy}


def report(name: str, c: dict):
    pos, neg = c["pos"], c["neg"]
    print(f"\n{name}: {len(pos)} positive, {len(neg)} negative pairs; ROC-AUC of P(yes): {c['auc']:.3f}")
    for t, acc in c["accuracy"].items():
        print(f"  threshold {t:.2f}: accuracy {acc:.2f}  accepted positives {sum(s >= t for s in pos)}/{len(pos)}  "
              f"accepted negatives {sum(s >= t for s in neg)}/{len(neg)}")


def result_of(judgements: dict[str, dict], model: str) -> dict:
    """write_result's arguments: a row per judgement (pairs, ROC-AUC, accuracy at each threshold)."""
    return {"title": "Reviewer calibration", "summary": (
        f"ROC-AUC of the reviewer's P(yes) (model `{model}`) and its accuracy at each acceptance threshold on hand-labelled pairs: "
        "in-depth operations put to the gain question (tests/data/review_pairs.jsonl, prompts/reviewer.txt), "
        "breadth operations put to the new-task question (tests/data/review_pairs_breadth.jsonl, "
        "prompts/reviewer_breadth.txt), and the breadth pairs put to the gain question, as they were before."),
        "columns": ["judgement", "pairs (positive + negative)", "ROC-AUC of P(yes)", *(f"accuracy at {t}" for t in THRESHOLDS)],
        "rows": [[name, f"{len(c['pos'])} + {len(c['neg'])}", round(c["auc"], 3),
                  *(round(c["accuracy"][t], 2) for t in THRESHOLDS)] for name, c in judgements.items()]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="local")
    ap.add_argument("--prompts")
    result_option(ap, "results/reviewer_calibration.json")
    args = ap.parse_args()
    read = lambda name: [json.loads(line) for line in (DATA / name).read_text().splitlines()]
    depth, breadth = read("review_pairs.jsonl"), read("review_pairs_breadth.jsonl")
    as_gain = [{**p, "op": "deepen"} for p in breadth]
    scores = gain_probabilities(Context(model=args.model, prompts=args.prompts), depth + breadth + as_gain)
    judgements = {
        "in-depth operations, gain question (reviewer.txt)": calibration(depth, scores[: len(depth)]),
        "breadth, new-task question (reviewer_breadth.txt)": calibration(breadth, scores[len(depth): len(depth) + len(breadth)]),
        "breadth pairs put to the gain question (before)": calibration(breadth, scores[len(depth) + len(breadth):]),
    }
    for name, c in judgements.items():
        report(name, c)
    record(args.result, result_of(judgements, args.model))


if __name__ == "__main__":
    main()
