"""The OpenAI-compatible client path against a real server on loopback (`transformers serve`
serving the embedded model), end to end through `teamsrl generate --base-url`."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from teamsrl_graph.cli import main
from teamsrl_graph.models import local

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    exe = shutil.which("transformers", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("transformers serve is not installed (pip install 'transformers[serving]')")
    folder, port = str(local.converted_path()), free_port()
    cache = tmp_path_factory.mktemp("hf-cache")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([exe, "serve", folder, "--host", "127.0.0.1", "--port", str(port), "--dtype", "bfloat16"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2)
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("server did not come up in 120 s")
        yield url, folder
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_generate_through_an_openai_compatible_server(server, tmp_path, monkeypatch):
    url, folder = server
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-value")
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("Explain how tides are caused by the moon.\n")
    out = tmp_path / "run"
    code = main(["generate", "--seeds", str(seeds), "--out", str(out), "--model", f"openai:{folder}",
                 "--base-url", f"{url}/v1", "--budget", "3", "--max-steps", "1", "--router", "fixed"])
    assert code == 0
    record = json.loads((out / "dataset.jsonl").read_text())
    report_text = (out / "report.json").read_text()
    report = json.loads(report_text)
    assert record["response"].strip() and len(record["path"]) == 1
    assert report["queries"]["total"] <= 3 and report["tokens"]["prompt"] > 0
    assert report["settings"]["base_url"] == f"{url}/v1"
    assert "sk-test-secret-value" not in report_text + (out / "dataset.jsonl").read_text()


def test_the_reviewer_mode_is_detected_and_its_verdicts_are_readable(server, caplog):
    """Whether this server returns log-probabilities is asked of it directly; the reviewer must learn
    the same from its first reply, and read every verdict (by probability, or as a one-word Yes/No)."""
    import logging

    from openai import OpenAI

    from teamsrl_graph.evolve.context import Context
    from teamsrl_graph.evolve.resources import resources
    from teamsrl_graph.evolve.review import parse_judgement
    from teamsrl_graph.evolve.steps import ask_reviewer

    url, folder = server
    raw = OpenAI(base_url=f"{url}/v1", api_key="not-needed").chat.completions.create(
        model=folder, messages=[{"role": "user", "content": "Is water wet? Answer Yes or No."}], max_tokens=1,
        logprobs=True, top_logprobs=5)
    expected = "logprobs" if raw.choices[0].logprobs and raw.choices[0].logprobs.content else "text"
    pairs = [("Explain how tides work.", "Explain how tides work, in three bullet points, for a ten-year-old."),
             ("Write a poem about rain.", "Write a sonnet about rain in a city at night, rhyming ABAB."),
             ("Describe a volcano.", "Describe a volcano."),
             ("List three fruits.", "Name three fruits.")]
    ctx = Context(model=f"openai:{folder}", base_url=f"{url}/v1", budget=len(pairs))
    assert resources(ctx).budget.reserve(len(pairs))
    with caplog.at_level(logging.INFO, "teamsrl.steps"):
        verdicts = [ask_reviewer(ctx, "review", "reviewer", {"old": old, "new": new}) for old, new in pairs]
    print(f"server returns logprobs: {expected == 'logprobs'}; verdicts: {verdicts}")
    assert resources(ctx).reviewer_mode == expected
    # read by probability, or as a one-word Yes/No; the 135M model's one-token reply is not always a verdict
    # (on some CPUs its greedy first token for one of these pairs is "The"), so most, not all, must read
    readable = [p is not None or parse_judgement(text) is not None for p, text in verdicts]
    assert sum(readable) >= len(pairs) - 1, verdicts
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and "no log-probabilities" in r.getMessage()]
    assert len(warned) == (1 if expected == "text" else 0)
    assert resources(ctx).budget.queries == len(pairs) and resources(ctx).budget.reserved == 0
