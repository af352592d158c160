"""How long `teamsrl --help` takes to start, against a bare Python start-up in the same run.

Each round runs, in fresh processes and alternating so that both see the same machine load:
`python -c pass` (the baseline: the interpreter alone) and `python -m teamsrl_graph.cli --help`
(what the `teamsrl` script runs), plus `--help` of every subcommand. Prints the median wall time of
each (wall time, and the CPU time the process used: on a loaded machine the wall time is mostly
waiting for a core), the ratio of `--help` to the baseline, and whether `--help` meets the target
(median wall time under 0.3 s), then writes the result (`write_result`: a figure per command, and
the table of every command's times) to results/cli_startup.json; `python -m docs.render` shows it.

    python benchmarks/cli_startup.py [--rounds 15] [--out results/cli_startup.json]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.3  # seconds, median of `teamsrl --help`


def timed(argv: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run of `argv` in a fresh process."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(argv, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15, help="fresh processes per command")
    ap.add_argument("--out", default=str(ROOT / "results" / "cli_startup.json"), help="where the JSON result goes")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from teamsrl_graph.cli import COMMANDS
    from teamsrl_graph.common.results import write_result

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    runs = {"python -c pass": [sys.executable, "-c", "pass"],
            "teamsrl --help": [sys.executable, "-m", "teamsrl_graph.cli", "--help"]}
    runs.update({f"teamsrl {name} --help": [sys.executable, "-m", "teamsrl_graph.cli", name, "--help"]
                 for name in COMMANDS})
    for argv in runs.values():  # warm the file cache and the bytecode once
        timed(argv, env)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, argv in runs.items():
            times[name].append(timed(argv, env))
    wall = {name: statistics.median(w for w, _ in t) for name, t in times.items()}
    cpu = {name: statistics.median(c for _, c in t) for name, t in times.items()}
    base, main_help = wall["python -c pass"], wall["teamsrl --help"]
    for name in runs:
        print(f"{name:32s} wall {wall[name] * 1000:7.1f} ms (x{wall[name] / base:4.1f} of python -c pass), "
              f"cpu {cpu[name] * 1000:6.1f} ms (x{cpu[name] / max(cpu['python -c pass'], 1e-3):4.1f})")
    print(f"teamsrl --help: {main_help:.3f} s median wall, {main_help / base:.1f}x a bare start-up; "
          f"target < {TARGET} s: {'met' if main_help < TARGET else 'NOT met'} (load average {os.getloadavg()[0]:.1f})")
    cpu_base = max(cpu["python -c pass"], 1e-3)
    figures = {"teamsrl --help, median wall (s)": round(main_help, 3),
               "teamsrl --help / python -c pass (wall)": round(main_help / base, 2),
               "teamsrl --help, median CPU (ms)": round(cpu["teamsrl --help"] * 1000, 1),
               f"target: median wall under {TARGET} s": "met" if main_help < TARGET else "not met"}
    rows = [[name, round(wall[name] * 1000, 1), round(wall[name] / base, 2), round(cpu[name] * 1000, 1),
             round(cpu[name] / cpu_base, 2)] for name in runs]
    path = write_result(args.out, "CLI start-up: teamsrl --help against a bare Python", figures=figures,
                        columns=["command", "median wall (ms)", "wall / python -c pass", "median CPU (ms)",
                                 "CPU / python -c pass"], rows=rows, summary=(
        f"Median of {args.rounds} fresh processes per command, run alternately so that all see the same load: "
        "`python -c pass` (the interpreter alone) against `teamsrl --help` and every subcommand's `--help`. "
        "Building the parser imports no torch, transformers, peft, trl, datasets or LangChain. On a loaded "
        "machine the wall time is mostly waiting for a core; the CPU time is what the process used."))
    print(f"written to {path}; python -m docs.render puts it into docs/results.md")


if __name__ == "__main__":
    main()
