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
