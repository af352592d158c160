"""What the registry's repairs (`constraints.repair`) add to one finished run, at no extra query.

Reads a run's `dataset.jsonl` (a main-job run's `generate/dataset.jsonl` made with `--repair off`),
tries the repairs on every record whose kept answer missed a constraint, and counts: verified
records before and after, and so the queries one verified record costs at the run's spend; per
constraint type, how many failed answers missed it and how many of those the edits made pass
(with every other constraint of the record). Writes the records, repaired ones marked as the graph
marks them (`repaired`), to `--out`, so `benchmarks/finetune_settings.py --records` can fine-tune
on them; the figures go to a result file (`--result`, empty to skip). It does not sample or train.

    python benchmarks/repair.py --records runs/demo/generate/dataset.jsonl [--out runs/repair/dataset.jsonl]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from teamsrl_graph.common.files import read_jsonl, write_jsonl
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.constraints.repair import REPAIRS, repair
from teamsrl_graph.dataio.records import verified


def repaired_records(records: list[dict]) -> list[dict]:
    """`records` with each answer that missed a constraint replaced by its repair, where one passes."""
    out = []
    for r in records:
        fixed = None if r.get("constraints_ok") is not False else repair(r.get("response", ""), r["constraints"],
                                                                         r.get("instruction", ""))
        if fixed is not None:
            r = {**r, "response": fixed.text, "repaired": fixed.repaired, "verification": fixed.verification,
                 "constraints_ok": True, "response_ok": True}
        out.append(r)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", required=True, help="a generation run's dataset.jsonl")
    parser.add_argument("--out", default="runs/repair/dataset.jsonl", help="where the repaired records go")
    result_option(parser, "results/repair.json")
    args = parser.parse_args()
    records = list(read_jsonl(args.records))
    after = repaired_records(records)
    queries = sum(r.get("queries", 0) for r in records)
    missed, fixed = Counter(), Counter()
    for old, new in zip(records, after):
        failing = [x["id"] for x in (old.get("verification") or {}).get("results", []) if not x["strict"]]
        missed.update(failing)
        if new.get("repaired"):
            fixed.update(failing)
    before_n, after_n = sum(map(verified, records)), sum(map(verified, after))
    rows = [[t, missed[t], fixed[t], "yes" if t in REPAIRS else "no"] for t in sorted(missed, key=lambda t: (-missed[t], t))]
    for row in rows:
        print(f"{row[0]:<48} missed {row[1]:4d}  repaired {row[2]:4d}  edit {row[3]}")
    print(f"{len(records)} records, {queries} queries: verified {before_n} -> {after_n}; "
          f"queries per verified record {queries / max(before_n, 1):.2f} -> {queries / max(after_n, 1):.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out, after)
    record(args.result, {
        "title": "Repaired answers: verified records of one run before and after the registry's edits",
        "summary": (f"The {len(records)} records of `{args.records}` ({queries} queries, answers as sampled). Every record "
                    "whose kept answer missed a constraint gets the registry's fixed edits for the constraints it missed; "
                    "the edited answer counts only when it then passes every constraint the record carries. Per type: "
                    "failed answers that missed it, and how many of those the edits made pass."),
        "columns": ["constraint type", "answers that missed it", "repaired", "has an edit"],
        "rows": rows,
        "figures": {"records": len(records), "queries": queries, "verified before": before_n, "verified after": after_n,
                    "queries per verified record before": round(queries / max(before_n, 1), 2),
                    "queries per verified record after": round(queries / max(after_n, 1), 2)}})


if __name__ == "__main__":
    main()
