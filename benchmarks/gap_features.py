"""PIT's gap model with and without the form statistics, by cross-validation on training pairs.

The pairs are those a trainers run (`benchmarks/trainers.py`) wrote for its PIT trainer
(OUT/pit/preferences.jsonl): each training instruction's sampled answers, the best and the worst by
constraint compliance (`pit.collect.compliance_pairs`). The run's held-out share of the pairs (the
PIT trainer's split) is left out entirely; the remaining training pairs are cut into `--folds`
folds, and each setting is trained on all folds but one and scored (pairwise accuracy,
`pit.gap.pairwise_accuracy`) on that one. Settings: the form statistics on or off
(`GapSettings.form`), at the gap model's defaults and at a wider, longer-trained head.

    python benchmarks/gap_features.py --samples runs/trainers

Prints the table and writes a result file for the docs (`--result`; empty to skip). Embeds every
distinct text once with the offline MiniLM; the rest takes seconds a setting on a CPU.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from pathlib import Path

from teamsrl_graph.common.errors import InputError, TeamsrlError
from teamsrl_graph.common.files import read_json_file
from teamsrl_graph.common.results import record, result_option

log = logging.getLogger("gap_features")

# (name, GapSettings fields): the defaults, and the head the trainers run first used (64 dims, 300 epochs)
SETTINGS = [
    ("form statistics, defaults", {}),
    ("word counts only, defaults", {"form": False}),
    ("form statistics, 64 dims, 300 epochs", {"projection": 64, "epochs": 300}),
    ("word counts only, 64 dims, 300 epochs", {"form": False, "projection": 64, "epochs": 300}),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", default="runs/trainers", help="a trainers run's folder (settings.json, pit/preferences.jsonl)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds of the training pairs")
    p.add_argument("--seed", type=int, default=0, help="seeds the folds and every gap model")
    result_option(p, "results/gap_features.json")
    args = p.parse_args(argv)
    if args.folds < 2:
        p.error(f"--folds must be at least 2, got {args.folds}")
    return args


def training_pairs(folder: Path) -> tuple[list, dict]:
    """The pairs the trainers run's PIT trainer read (OUT/pit/preferences.jsonl) minus the ones it held
    out (its split: `PITConfig.heldout_fraction` at the run's seed), and the run's settings."""
    from teamsrl_graph.dataio.records import split_heldout
    from teamsrl_graph.pit.config import PITConfig
    from teamsrl_graph.pit.preferences import read_preferences

    settings = read_json_file(folder / "settings.json")
    for key in ("instructions", "seed", "draws"):
        if not isinstance(settings.get(key), int):
            raise InputError(f"expected a whole number, got {settings.get(key)!r}", path=folder / "settings.json", field=key)
    pairs = read_preferences(folder / "pit" / "preferences.jsonl")  # an InputError naming it when there is none
    train, _ = split_heldout(pairs, PITConfig.heldout_fraction, settings["seed"])
    return train, settings


def cross_validate(pairs: list, settings: dict, folds: int, seed: int, embedder) -> list[float]:
    """Held-out pairwise accuracy of each fold."""
    from teamsrl_graph.pit.config import GapSettings
    from teamsrl_graph.pit.gap import train_gap

    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    out = []
    for f in range(folds):
        test = set(order[f::folds])
        _, history = train_gap([p for i, p in enumerate(pairs) if i not in test], GapSettings(seed=seed, **settings),
                               heldout=[pairs[i] for i in sorted(test)], embedder=embedder)
        out.append(history["heldout"]["accuracy"])
    return out


def result_of(report: dict) -> dict:
    rows = [[name, round(sum(a) / len(a), 4), round(min(a), 4), round(max(a), 4), " ".join(f"{x:.3f}" for x in a)]
            for name, a in report["accuracy"].items()]
    best = max(rows, key=lambda r: r[1])
    return {"title": "PIT gap model: form statistics, by cross-validation", "rows": rows,
            "columns": ["setting", "mean pairwise accuracy", "lowest fold", "highest fold", "per fold"],
            "figures": {"best setting": best[0], "its mean pairwise accuracy": best[1]},
            "summary": (f"{report['pairs']} training pairs decided by compliance, from {report['instructions']} "
                        f"instructions x {report['draws']} samples of the trainers run (its held-out pairs left out), "
                        f"in {report['folds']} folds; each setting trains on all folds but one and is scored on it.")}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        pairs, settings = training_pairs(Path(args.samples))
    except TeamsrlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    from teamsrl_graph.common.embeddings import default_embedder

    embedder, started, accuracy = default_embedder(), time.monotonic(), {}
    for name, fields in SETTINGS:
        accuracy[name] = cross_validate(pairs, fields, args.folds, args.seed, embedder)
        log.info("%s: %.4f", name, sum(accuracy[name]) / args.folds)
    report = {"pairs": len(pairs), "instructions": settings["instructions"], "draws": settings["draws"],
              "folds": args.folds, "accuracy": accuracy, "seconds": round(time.monotonic() - started, 1)}
    result = result_of(report)
    for row in result["rows"]:
        print(" | ".join(map(str, row)))
    record(args.result, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
