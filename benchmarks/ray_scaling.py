"""Throughput of `generate` on Ray with 1 and 2 workers, each worker with its own endpoint.

The endpoints are fake OpenAI-compatible servers on loopback (`teamsrl_graph.testing.fake_openai`)
that answer every request after a fixed latency, so a worker's throughput is bound by its requests
in flight (`--concurrency` seeds each), as with a real model server, and a second worker with a
server of its own should double it. Each round runs the same seeds (fixed router, no cap) with 1
worker, then with 2, on a local Ray cluster started here; it prints records/s and queries/s of
each (timed from the first seed dealt out, after the workers have loaded) and the ratio 2 / 1, and
writes them to a result file for the docs (`--result`, empty to skip).

    python benchmarks/ray_scaling.py [--seeds 48] [--latency 0.2] [--concurrency 4] [--rounds 2] [--cpus 2]
                                     [--result results/ray_scaling.json]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import ray

from teamsrl_graph import Context
from teamsrl_graph.common.results import record, result_option
from teamsrl_graph.scale import generate_on_ray
from teamsrl_graph.testing.fake_openai import FakeOpenAI
from teamsrl_graph.testing.soak import scripted_reply


def slow(latency: float):
    """The soak's plausible replies for every role, each one after `latency` seconds."""

    def reply(body: dict):
        time.sleep(latency)
        return scripted_reply(body)

    return reply


def one_run(seeds: list[str], urls: list[str], concurrency: int, max_steps: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        generate_on_ray(seeds, out=out, context=Context(model="openai:fake-model", router="fixed", max_steps=max_steps),
                        base_urls=urls, concurrency=concurrency, progress=False)
        report = json.loads((Path(out) / "report.json").read_text())
    seconds = report["seconds"]
    return {"workers": len(urls), "records": report["records"], "queries": report["queries"]["total"], "s": seconds,
            "records/s": report["records"] / seconds, "queries/s": report["queries"]["total"] / seconds}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=48)
    p.add_argument("--latency", type=float, default=0.2, help="seconds each server takes per request")
    p.add_argument("--concurrency", type=int, default=4, help="seeds in flight per worker")
    p.add_argument("--max-steps", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    result_option(p, "results/ray_scaling.json")
    args = p.parse_args()

    seeds = [f"Explain how topic number {i} affects daily life." for i in range(args.seeds)]
    ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    runs = []  # (1 worker, 2 workers) per round
    try:
        with FakeOpenAI(reply=slow(args.latency)) as a, FakeOpenAI(reply=slow(args.latency)) as b:
            print(f"{args.seeds} seeds, max_steps {args.max_steps}, {args.concurrency} seeds in flight per worker, "
                  f"{args.latency:g} s per request, Ray cluster of {args.cpus} CPUs")
            print("round | workers | records | queries | seconds | records/s | queries/s")
            for r in range(args.rounds):
                one = one_run(seeds, [a.base_url], args.concurrency, args.max_steps)
                two = one_run(seeds, [a.base_url, b.base_url], args.concurrency, args.max_steps)
                for row in (one, two):
                    print(f"{r + 1} | {row['workers']} | {row['records']} | {row['queries']} | {row['s']:.2f} | "
                          f"{row['records/s']:.2f} | {row['queries/s']:.2f}")
                runs.append((one, two))
                print(f"round {r + 1}: 2 workers / 1 worker = {two['records/s'] / one['records/s']:.2f} (records/s), "
                      f"{two['queries/s'] / one['queries/s']:.2f} (queries/s)")
    finally:
        ray.shutdown()
    ratios = [two["queries/s"] / one["queries/s"] for one, two in runs]
    print(f"mean ratio 2 / 1 workers (queries/s) over {len(ratios)} rounds: {sum(ratios) / len(ratios):.2f}")
    record(args.result, result_of(runs, args))


def result_of(runs: list[tuple[dict, dict]], args) -> dict:
    """write_result's arguments: a row per round and worker count, the mean 2 / 1 ratio (queries/s) as headline."""
    ratios = [two["queries/s"] / one["queries/s"] for one, two in runs]
    mean = f"2 workers / 1 worker (mean of {len(ratios)} rounds)"
    return {"title": "Ray: 2 workers against 1", "headline": [mean], "summary": (
        f"`generate` on a local Ray cluster of {args.cpus} CPUs, {args.seeds} seeds (fixed router, at most "
        f"{args.max_steps} steps, no cap); each worker keeps {args.concurrency} seeds in flight against a fake "
        f"OpenAI-compatible server of its own that answers every request after {args.latency:g} s, so a second "
        "worker should double the throughput. Timed from the first seed dealt out."),
        "columns": ["round", "workers", "records", "queries", "seconds", "records/s", "queries/s"],
        "rows": [[number, row["workers"], row["records"], row["queries"], round(row["s"], 2), round(row["records/s"], 2),
                  round(row["queries/s"], 2)] for number, pair in enumerate(runs, 1) for row in pair],
        "figures": {mean: round(sum(ratios) / len(ratios), 2), "per round": ", ".join(f"{r:.2f}" for r in ratios)}}


if __name__ == "__main__":
    main()
