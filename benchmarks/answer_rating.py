"""How well each part of `teamsrl pit prefs`' answer rating tells good answers from bad ones.

Two labelled sets, no human labels needed:
- verifiable: arithmetic and object-counting instances (`teamsrl_graph.hir.tasks`), each answered
  once with the right number and once with a wrong one ("The answer is N.");
- off-topic: the shipped seeds, each answered by the responder (greedy) and by a fixed off-topic
  reply of similar length.
For every part (reviewer P(Yes) with `prompts/rate_answer.txt`, MiniLM relevance, fluency) and for the
equal-weight rating, it prints the ROC-AUC of good against bad (0.5 = chance) per set, and writes
them to a result file for the docs (`--result`, empty to skip).

    python benchmarks/answer_rating.py --instances 15 [--result results/answer_rating.json]
"""

from __future__ import annotations

import argparse
import json
import random
from concurrent.futures import ThreadPoolExecutor

from teamsrl_graph.common import prompts
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.dataio.seeds import load_seeds
from teamsrl_graph.evaluation.mia import auc
from teamsrl_graph.evolve import steps
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.evolve.resources import resources
from teamsrl_graph.hir.tasks import make_task
from teamsrl_graph.pit.collect import fluency, rate, relevance


def labelled(instances: int, seed: int) -> dict[str, list[tuple[str, str, int]]]:
    rng = random.Random(seed)
    verifiable = []
    for name in ("arithmetic", "object_counting"):
        for inst in make_task(name, 1).instances(instances, seed=seed):
            wrong = int(inst.answer) + rng.choice([-3, -2, -1, 1, 2, 3])
            verifiable += [(inst.prompt, f"The answer is {inst.answer}.", 1), (inst.prompt, f"The answer is {wrong}.", 0)]
    context = Context(answer_tokens=64)
    seeds = load_seeds(None)[:instances]
    resources(context).budget.reserve(len(seeds))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda s: steps.answer(context, s.instruction)[0], seeds))
    # each instruction's own answer against the answer to another instruction (a different one for each)
    others = answers[1:] + answers[:1]
    off_topic = [row for s, a, b in zip(seeds, answers, others) for row in ((s.instruction, a, 1), (s.instruction, b, 0))]
    return {"verifiable": verifiable, "off-topic": off_topic}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=15, help="instances per task and seeds used")
    parser.add_argument("--seed", type=int, default=0)
    result_option(parser, "results/answer_rating.json")
    args = parser.parse_args()
    sets = labelled(args.instances, args.seed)
    context, template = Context(), prompts.load("rate_answer")
    results = {}
    for name, rows in sets.items():
        resources(context).budget.reserve(len(rows))
        with ThreadPoolExecutor(8) as pool:
            reviewer = list(pool.map(lambda r: rate(context, template, r[0], r[1]), rows))
        parts = {"reviewer": reviewer, "relevance": [relevance(x, [y])[0] for x, y, _ in rows],
                 "fluency": [fluency(y) for _, y, _ in rows]}
        parts["rating (equal weights)"] = [sum(v) / 3 for v in zip(*parts.values())]
        labels = [label for *_, label in rows]
        results[name] = {part: round(auc([s for s, l in zip(scores, labels) if l], [s for s, l in zip(scores, labels) if not l]), 3)
                         for part, scores in parts.items()}
    print(f"{'part':<24}" + "".join(f"{n + ' AUC':>18}" for n in results))
    for part in next(iter(results.values())):
        print(f"{part:<24}" + "".join(f"{results[n][part]:>18.3f}" for n in results))
    sizes = {n: len(r) for n, r in sets.items()}
    print(json.dumps({"sizes": sizes, "auc": results}))
    record(args.result, result_of(results, sizes))


def result_of(aucs: dict[str, dict[str, float]], sizes: dict[str, int]) -> dict:
    """write_result's arguments: a row per part of the rating, a column of ROC-AUCs per labelled set."""
    parts = list(next(iter(aucs.values())))
    return {"title": "Answer rating parts (PIT preference pairs)", "summary": (
        "ROC-AUC (0.5 = chance) of each part of the rating that ranks sampled answers in `teamsrl pit prefs` "
        "(reviewer P(Yes) with prompts/rate_answer.txt, MiniLM relevance, fluency) and of their equal-weight "
        "mean, on answers labelled without a human: the right against a wrong number on arithmetic and object "
        "counting (verifiable), and each seed's own answer against another seed's (off-topic)."),
        "columns": ["part of the rating", *(f"{name} ({sizes[name]} answers)" for name in aucs)],
        "rows": [[part, *(aucs[name][part] for name in aucs)] for part in parts]}


if __name__ == "__main__":
    main()
