"""Repairs inside the graph: the main job's generation with `--repair off` and `--repair on`, at the
same query budget.

`benchmarks/repair.py` repairs a finished run's records; this runs the graph itself both ways, so
the repairs also end sampling early and the queries saved go to further seeds. Both runs use the
main job's generation settings (router, steps, answering, concurrency) on the shipped seeds with the
same run seed, one after the other in one process on the embedded model. Prints and writes, per
mode: records, answer samples, verified records and how many of them were repaired, queries per
verified record, seconds and completion tokens/s; and the ratio of verified records on ÷ off. It
does not fine-tune (see `benchmarks/finetune_settings.py` for that).

    python benchmarks/repair_generation.py [--budget 400] [--out runs/repair_generation]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from teamsrl_graph.commands.pipeline import generation_settings
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.running.run import generate


def run(mode: str, budget: int, out: Path) -> dict:
    settings, concurrency = generation_settings()  # `teamsrl pipeline`'s defaults, every Context field
    generate(None, out=out / mode, context=Context(**{**settings, "budget": budget, "repair": mode}),
             concurrency=concurrency, overwrite=True)
    report = json.loads((out / mode / "report.json").read_text())
    checked = report["verification"]
    return {"mode": mode, "records": report["records"], "answer_samples": report["answer_samples"],
            "verified": checked["verified_records"], "repaired": checked.get("repaired_records", 0),
            "queries": report["queries"]["total"], "queries_per_verified": report["per_verified_record"]["queries"],
            "seconds": report["seconds"], "tokens_per_second": report["completion_tokens_per_second"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=400, help="queries per run (default 400)")
    parser.add_argument("--out", default="runs/repair_generation")
    result_option(parser, "results/repair_generation.json")
    args = parser.parse_args()
    rows = [run(mode, args.budget, Path(args.out)) for mode in ("off", "on")]
    columns = list(rows[0])
    for row in rows:
        print("  ".join(f"{k}={row[k]}" for k in columns))
    off, on = rows
    ratio = round(on["verified"] / off["verified"], 2) if off["verified"] else None
    print(f"verified records on ÷ off at {args.budget} queries: {ratio}")
    record(args.result, {
        "title": "Repairs inside the graph: the main job's generation with and without them",
        "summary": (f"The main job's generation settings on the shipped seeds, {args.budget} queries each way, one run each "
                    "on the embedded model, repairs off and then on. With repairs on, a round of answers where none "
                    "passes ends with the first one the registry's edits make pass, so sampling also stops sooner."),
        "columns": ["repair", "records", "answer samples", "verified records", "of them repaired", "queries",
                    "queries per verified record", "seconds", "completion tokens/s"],
        "rows": [[row[k] for k in columns] for row in rows],
        "figures": {"verified records on ÷ off": ratio}})


if __name__ == "__main__":
    main()
