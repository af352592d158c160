"""Membership-inference audit: can an attacker tell training records from unseen ones by loss?

Two attacks score every record; a higher score means "more likely a member":
- loss attack: the fine-tuned model's loss on the record, negated (members are fit better);
- reference-calibrated attack: the ratio of that loss to the base model's loss on the same record,
  negated; dividing by a reference cancels how hard a record is in itself, the usual stronger attack.
Members are the training records, non-members held-out records from the same generator. Success is
the ROC-AUC: 0.5 means the attacker does no better than chance (no leakage), 1.0 perfect leakage.
The AUC is computed from ranks (the Mann-Whitney statistic, ties counted as half), without sklearn.
With a few dozen records the luck of the split alone moves an AUC a lot (27 members and 11
non-members gave 95% intervals about ±0.2 wide), so each one comes with a bootstrap interval
(members and non-members resampled separately) and with the chance band: the range of AUCs that
shuffling the member/non-member labels gives, which is what a model that leaked nothing would show
at these set sizes.
"""

from __future__ import annotations

import random


def ranks(values: list[float]) -> list[float]:
    """1-based ranks of `values`, tied values sharing the mean of their positions."""
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start:end + 1]:
            result[i] = (start + end) / 2 + 1
        start = end + 1
    return result


def auc(positives: list[float], negatives: list[float]) -> float:
    """P(score of a random positive > score of a random negative), ties counting 1/2."""
    if not positives or not negatives:
        raise ValueError("the AUC needs at least one positive and one negative score")
    r = ranks(list(positives) + list(negatives))
    p, n = len(positives), len(negatives)
    return (sum(r[:p]) - p * (p + 1) / 2) / (p * n)


def roc_curve(positives: list[float], negatives: list[float]) -> tuple[list[float], list[float]]:
    """(false positive rates, true positive rates) for every threshold, from (0, 0) to (1, 1)."""
    labelled = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives], reverse=True)
    fpr, tpr, tp, fp = [0.0], [0.0], 0, 0
    for i, (score, label) in enumerate(labelled):
        tp, fp = tp + label, fp + (1 - label)
        if i + 1 == len(labelled) or labelled[i + 1][0] != score:  # one point per distinct threshold
            fpr.append(fp / len(negatives))
            tpr.append(tp / len(positives))
    return fpr, tpr


def interval(positives: list[float], negatives: list[float], rounds: int = 1000, level: float = 0.95,
             seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC, resampling positives and negatives separately."""
    rng = random.Random(seed)
    return central([auc(rng.choices(positives, k=len(positives)), rng.choices(negatives, k=len(negatives)))
                    for _ in range(rounds)], level)


def chance_band(positives: list[float], negatives: list[float], rounds: int = 1000, level: float = 0.95,
                seed: int = 0) -> tuple[float, float]:
    """Central `level` range of the AUC when the labels are shuffled (a permutation test's null): an
    AUC inside it is no evidence of leakage at these set sizes, however far from 0.5 it looks."""
    rng = random.Random(seed)
    pooled, p = list(positives) + list(negatives), len(positives)
    values = []
    for _ in range(rounds):
        rng.shuffle(pooled)
        values.append(auc(pooled[:p], pooled[p:]))
    return central(values, level)


def central(values: list[float], level: float) -> tuple[float, float]:
    """The range holding the central `level` share of `values` (percentiles, no interpolation)."""
    values, cut = sorted(values), int(len(values) * (1 - level) / 2)
    return values[cut], values[len(values) - 1 - cut]


def loss_attack(member_losses: list[float], nonmember_losses: list[float]) -> float:
    """AUC of the loss attack (lower loss = member)."""
    return auc([-x for x in member_losses], [-x for x in nonmember_losses])


def audit(members: dict[str, list[float]], nonmembers: dict[str, list[float]]) -> tuple[dict, dict]:
    """Both attacks from per-record losses under "finetuned" and "base"; returns (report, attack scores).

    The loss attack on the base model, which saw neither set, is a control: far from 0.5 it means
    the two sets differ in difficulty and the other numbers are confounded.
    """
    scores = {
        "loss": ([-x for x in members["finetuned"]], [-x for x in nonmembers["finetuned"]]),
        "loss_ratio": ([-f / b for f, b in zip(members["finetuned"], members["base"])],
                       [-f / b for f, b in zip(nonmembers["finetuned"], nonmembers["base"])]),
        "base_loss_control": ([-x for x in members["base"]], [-x for x in nonmembers["base"]]),
    }
    report = {f"{name}_auc": round(auc(*pair), 4) for name, pair in scores.items()}
    report.update({f"{name}_auc_interval": [round(x, 4) for x in interval(*pair)] for name, pair in scores.items()})
    report["chance_band"] = [round(x, 4) for x in chance_band(*scores["loss_ratio"])]
    report.update(members=len(members["finetuned"]), nonmembers=len(nonmembers["finetuned"]))
    return report, scores
