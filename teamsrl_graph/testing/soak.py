"""A soak of `teamsrl generate` against a misbehaving server: the fake OpenAI server on loopback
injects faults, and the run is killed (SIGKILL) at random moments and resumed until it finishes.

`soak` returns what a user would check afterwards: records completed against seeds, duplicated and
lost records, the requests the ledger booked against the chat requests the server saw (a request for
k answers books k queries, so queries and requests are given apart), whether the
cap held, and whether any attempt printed a traceback. The test suite runs it small; the benchmark
`benchmarks/fault_soak.py` runs it at size.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from ..dataio.records import record_id
from .fake_openai import FakeOpenAI, Reply

REVIEW = re.compile(r"harder|gain|more (?:specific|information)", re.IGNORECASE)


def scripted_reply(body: dict):
    """Plausible replies for every role: a Yes with log-probabilities for the reviewer, a rewrite that
    adds a requirement for an evolution, a short answer otherwise."""
    text = str((body.get("messages") or [{}])[-1].get("content") or "")
    if body.get("logprobs"):
        return Reply("Yes", top=[("Yes", -0.1), ("No", -2.4)])
    if "Task:" in text:
        task = re.search(r"Task: (.*)", text)
        return (task.group(1) if task else "Describe it.") + f" Use exactly {len(text) % 5 + 2} bullet points."
    return "A clear answer with two concrete points and a short example of each one."


def _count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _attempt(args: list[str], env: dict, dataset: Path, kill_at: int | None, log, limit: float = 600.0) -> int | None:
    """One `teamsrl generate` process; killed with SIGKILL once `dataset` has grown by `kill_at` records
    (mid-run, with calls in flight), or at `limit` seconds."""
    process = subprocess.Popen([sys.executable, "-m", "teamsrl_graph.cli", *args], stdout=log, stderr=log, env=env)
    start, deadline = _count(dataset), time.monotonic() + limit
    while process.poll() is None:
        if (kill_at is not None and _count(dataset) - start >= kill_at) or time.monotonic() > deadline:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return None
        time.sleep(0.05)
    return process.returncode


def soak(out: str | Path, seeds: int = 200, budget: int = 2000, fault_rate: float = 0.1, kills: int = 3,
         max_steps: int = 2, concurrency: int = 8, seed: int = 0, max_attempts: int = 50) -> dict:
    """Run to completion, killing the first `kills` attempts each after a random number of new records."""
    out, rng = Path(out), random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    instructions = [f"Explain how topic number {i} affects daily life." for i in range(seeds)]
    (out / "seeds.txt").write_text("\n".join(instructions) + "\n")
    per_fault = fault_rate / 5
    faults = {"429": per_fault, "500": per_fault, "malformed": per_fault, "hang": per_fault, "reset": per_fault}
    env = {**os.environ, "OPENAI_API_KEY": "sk-soak-not-secret", "PYTHONUNBUFFERED": "1"}
    log_path = out / "attempts.log"
    run = out / "run"
    exits, started = [], time.monotonic()
    with FakeOpenAI(reply=scripted_reply, faults=faults, seed=seed, retry_after=0.2, hang_seconds=3.0) as server, \
            open(log_path, "w") as log:
        base = ["generate", "--seeds", str(out / "seeds.txt"), "--out", str(run), "--model", "openai:fake-model",
                "--base-url", server.base_url, "--budget", str(budget), "--max-steps", str(max_steps),
                "--router", "random", "--timeout", "1", "--concurrency", str(concurrency)]
        for attempt in range(max_attempts):
            resume = ["--resume"] if (run / "dataset.jsonl").exists() else []
            kill_at = rng.randint(1, max(1, seeds // (kills + 1))) if attempt < kills else None
            exits.append(_attempt(base + resume, env, run / "dataset.jsonl", kill_at, log))
            if exits[-1] is not None:
                break
        chat_requests = sum(1 for r in server.requests if r.path.endswith("/chat/completions"))
        outcomes = dict(server.counts)
    records = [json.loads(line) for line in (run / "dataset.jsonl").read_text().splitlines() if line.strip()]
    ledger = json.loads((run / "ledger.json").read_text())
    ids = Counter(r["id"] for r in records)
    expected = {record_id(s) for s in instructions}
    report = json.loads((run / "report.json").read_text())
    return {
        "seeds": seeds,
        "records": len(records),
        "completed": sum(r.get("status") == "done" for r in records),
        "duplicated": sum(n - 1 for n in ids.values()),
        "lost": len(expected - set(ids)) - report.get("skipped_for_budget", 0),
        "skipped_for_budget": report.get("skipped_for_budget", 0),
        "queries_booked": ledger["queries"],
        "requests_booked": ledger.get("requests", ledger["queries"]),
        "http_requests": chat_requests,
        "budget": budget,
        "budget_held": ledger["queries"] <= budget,
        "kills": sum(e is None for e in exits),
        "exit_codes": [e for e in exits if e is not None],
        "tracebacks": log_path.read_text().count("Traceback"),
        "failed_records": report.get("failed", 0),
        "server_outcomes": outcomes,
        "seconds": round(time.monotonic() - started, 1),
    }
