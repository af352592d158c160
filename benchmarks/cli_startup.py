"""How long `teamsrl --help` takes to start, against a bare Python start-up in the same run.

Each round runs, in fresh processes and alternating so that both see the same machine load:
`python -c pass` (the baseline: the interpreter alone) and `python -m teamsrl_graph.cli --help`
(what the `teamsrl` script runs), plus `--help` of every subcommand. Prints the median wall time of
each (wall time, and the CPU time the process used: on a loaded machine the wall time is mostly
waiting for a core), the ratio of `--help` to the baseline, and whether `--help` meets the target
(median wall time under 0.3 s), then writes the figures to results/cli_startup.json (command,
commit, date, cores, load average).

    python benchmarks/cli_startup.py [--rounds 15] [--out results/cli_startup.json]
"""

from __future__ import annotations

import argparse
import datetime
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


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15, help="fresh processes per command")
    ap.add_argument("--out", default=str(ROOT / "results" / "cli_startup.json"), help="where the JSON result goes")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from teamsrl_graph.cli import COMMANDS
    from teamsrl_graph.common.files import write_json

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
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "commit": commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "rounds": args.rounds,
        "target_s": TARGET,
        "load_average": round(os.getloadavg()[0], 2),
        "median_wall_s": {name: round(m, 4) for name, m in wall.items()},
        "median_cpu_s": {name: round(m, 4) for name, m in cpu.items()},
        "wall_ratio_to_python": {name: round(m / base, 2) for name, m in wall.items()},
        "met": main_help < TARGET,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    print(f"written to {write_json(args.out, result)}")


if __name__ == "__main__":
    main()
