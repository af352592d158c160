"""Pass rate of the embedded model's sampled answers, per verifiable constraint type.

For every type (or those named), `--prompts` seed tasks get one constraint of that type, stated in a
training phrasing and placed as `compose` places it; the model answers each through the responder
template `--samples` times (one `generate` call with num_return_sequences per batch of prompts, left
padding, bf16 on CPU where supported), and `verify` checks each answer strictly. Writes a JSON
(command, commit, date, cores, settings, per type samples / passes / rate / prompts with a pass) and
prints a markdown table sorted by rate; the table and the overall rate also go to a result file for
the docs (`--result`, empty to skip), which `result_of` can also make from an earlier run's JSON. This
is a measurement, not a test: it asserts nothing.

    python benchmarks/pass_rates.py [--out pass_rates.json] [--prompts 4] [--samples 8] [--quick]
                                    [--result results/pass_rates.json]
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import subprocess
import sys
import time

from teamsrl_graph.common.files import write_json
from teamsrl_graph.common.prompts import load as load_template
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.constraints import TYPES, compose, verify
from teamsrl_graph.dataio.seeds import load_seeds
from teamsrl_graph.models.chat import message_ids
from teamsrl_graph.models.local import load

QUICK_TYPES = ("detectable_format:title", "punctuation:no_comma", "length_constraints:number_sentences")


def items_for(type_id: str, seeds, prompts: int, rng: random.Random) -> list[dict]:
    """`prompts` seed tasks, each with one constraint of `type_id` composed in a training phrasing."""
    items = []
    for seed in rng.sample(seeds, prompts):
        kwargs = TYPES[type_id].sample(rng, seed.instruction)
        constraint = {"id": type_id, "kwargs": kwargs}
        items.append({"type": type_id, "input": seed.input, "constraint": constraint,
                      "instruction": compose(seed.instruction, [constraint], rng, split="train")})
    return items


def answer(model, tokenizer, template, batch: list[dict], args) -> list[list[str]]:
    """`args.samples` sampled answers for each item of `batch`."""
    import torch

    prompts = [message_ids(tokenizer, template.render({"instruction": i["instruction"], "input": i["input"]})) for i in batch]
    width = max(len(p) for p in prompts)
    pad = tokenizer.pad_token_id
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    with torch.no_grad():
        out = model.generate(input_ids=ids.to(model.device), attention_mask=mask.to(model.device), do_sample=True,
                             temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                             num_return_sequences=args.samples, pad_token_id=pad)
    texts = tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
    return [texts[i * args.samples:(i + 1) * args.samples] for i in range(len(batch))]


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


COLUMNS = ["type", "samples", "passes", "pass rate", "prompts with a pass"]


def ranked(per_type: dict) -> list[list]:
    """A row per type (COLUMNS), highest pass rate first (ties by name)."""
    return [[type_id, r["samples"], r["passes"], r["rate"], f"{r['prompts_passed']}/{r['prompts']}"]
            for type_id, r in sorted(per_type.items(), key=lambda kv: (-kv[1]["rate"], kv[0]))]


def table(per_type: dict) -> str:
    rows = ["| " + " | ".join(COLUMNS) + " |", "|---|---:|---:|---:|---:|"]
    rows += [f"| {t} | {samples} | {passes} | {rate:.3f} | {prompts} |" for t, samples, passes, rate, prompts in ranked(per_type)]
    return "\n".join(rows)


def result_of(report: dict) -> dict:
    """write_result's arguments from this script's JSON report (`summary`), keeping the run's own command,
    commit, date and cores: the per-type table sorted by rate, the overall rate as a figure."""
    s, overall = report["settings"], report["overall"]
    partial = "" if report["complete"] else " The run did not finish (complete: false): the figures cover the prompts answered before it stopped."
    return {"title": "Pass rate of sampled answers per constraint type", "summary": (
        f"For every verifiable constraint type, {s['prompts']} seed tasks each get one constraint of that type in a "
        f"training phrasing; the embedded model ({report['dtype'].removeprefix('torch.')}) answers each {s['samples']} "
        f"times through the responder template (temperature {s['temperature']}, top-p {s['top_p']}, at most "
        f"{s['max_new_tokens']} new tokens), and each answer is verified strictly. The rate says how often sampling "
        "alone meets a type: where it is near 0, resampling rarely yields a verified answer of that type." + partial),
        "columns": COLUMNS, "rows": ranked(report["per_type"]),
        "figures": {"overall pass rate": overall["rate"], "passes / samples": f"{overall['passes']}/{overall['samples']}",
                    "wall time (s)": report["seconds"]},
        "command": report["command"], "commit": report["commit"], "date": report["date"],
        "machine": {"cores": report["cores"], "note": f"{report['torch_threads']} torch threads"}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="pass_rates.json", help="where the JSON goes")
    ap.add_argument("--types", nargs="*", help="type ids (default: all)")
    ap.add_argument("--prompts", type=int, default=4, help="prompts per type")
    ap.add_argument("--samples", type=int, default=8, help="answers per prompt")
    ap.add_argument("--rows", type=int, default=32, help="rows (prompts x samples) per generate call")
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument("--max-new-tokens", type=int, default=160)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help=f"smoke check: {len(QUICK_TYPES)} types, 1 prompt, 4 samples")
    result_option(ap, "results/pass_rates.json")
    args = ap.parse_args(argv)
    if args.quick:  # a smoke check replaces no result file unless --result names one
        args.types, args.prompts, args.samples = list(QUICK_TYPES), 1, 4
        args.result = "" if args.result == ap.get_default("result") else args.result
    types = args.types or sorted(TYPES)
    unknown = [t for t in types if t not in TYPES]
    if unknown:
        ap.error(f"unknown constraint types: {unknown}")

    import torch

    torch.manual_seed(args.seed)
    rng = random.Random(f"pass_rates:{args.seed}")
    seeds = load_seeds()
    by_type = [items_for(type_id, seeds, args.prompts, rng) for type_id in types]
    items = [mine[k] for k in range(args.prompts) for mine in by_type]  # round-robin: every batch spans the types
    template = load_template("responder")
    started, head = time.perf_counter(), commit()  # the code measured is the code at the start
    model, tokenizer = load()
    per_batch = max(1, args.rows // args.samples)
    for start in range(0, len(items), per_batch):
        batch = items[start:start + per_batch]
        for item, answers in zip(batch, answer(model, tokenizer, template, batch, args)):
            item["passes"] = sum(verify(a, [item["constraint"]])["strict"] for a in answers)
        print(f"{min(start + per_batch, len(items))}/{len(items)} prompts, {time.perf_counter() - started:.0f} s",
              file=sys.stderr, flush=True)
        report = summary(items, types, args, model, started, head)
        write_json(args.out, report)  # after every batch, so a stopped run still leaves its numbers
    print(table(report["per_type"]))
    overall = report["overall"]
    print(f"\noverall {overall['passes']}/{overall['samples']} = {overall['rate']:.3f}; {report['seconds']} s; wrote {args.out}")
    record(args.result, result_of(report))


def summary(items: list[dict], types: list[str], args, model, started: float, head: str) -> dict:
    """The JSON report over the items answered so far."""
    import torch

    done = [i for i in items if "passes" in i]
    per_type = {}
    for type_id in types:
        mine = [i for i in done if i["type"] == type_id]
        passes, samples = sum(i["passes"] for i in mine), len(mine) * args.samples
        per_type[type_id] = {"samples": samples, "passes": passes, "rate": round(passes / samples, 4) if samples else 0.0,
                             "prompts": len(mine), "prompts_passed": sum(1 for i in mine if i["passes"])}
    total = sum(r["samples"] for r in per_type.values())
    return {
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]), "commit": head,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "dtype": str(model.dtype),
        "settings": {k: getattr(args, k) for k in ("prompts", "samples", "rows", "temperature", "top_p", "max_new_tokens", "seed")},
        "seconds": round(time.perf_counter() - started, 1), "complete": len(done) == len(items),
        "overall": {"samples": total, "passes": sum(r["passes"] for r in per_type.values()),
                    "rate": round(sum(r["passes"] for r in per_type.values()) / total, 4) if total else 0.0},
        "per_type": per_type,
        "prompts": [{"instruction": i["instruction"], "constraint": i["constraint"], "passes": i["passes"]} for i in done],
    }


if __name__ == "__main__":
    main()
