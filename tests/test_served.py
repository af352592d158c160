"""The graph served by the real `langgraph dev`, driven over HTTP with langgraph-sdk.

The server is started from a folder other than the project's, with `--config` pointing at the
project's langgraph.json, on a free loopback port, with analytics, version checks and tracing off
(nothing may reach the network). It runs the embedded model with a few tokens per call.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path

import pytest

from teamsrl_graph.evolve.context import Context

pytest.importorskip("langgraph_api")
sdk = pytest.importorskip("langgraph_sdk")

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
OFFLINE_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",  # the CLI's usage report
    "LANGGRAPH_NO_VERSION_CHECK": "true",  # the server's PyPI version check
    "LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false", "LANGCHAIN_TRACING": "false",
    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
}
SECRETS = ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "LANGGRAPH_CLOUD_LICENSE_KEY", "LANGSMITH_CONTROL_PLANE_API_KEY")
# one evolution (rewrite + review) and the answer fit in 3 queries; max_steps allows two evolutions
SMALL_RUN = {"budget": 3, "max_steps": 2, "rewrite_tokens": 16, "review_tokens": 2, "answer_tokens": 8}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The URL of a `langgraph dev` serving langgraph.json, started from an unrelated folder."""
    cwd = tmp_path_factory.mktemp("served")  # the server keeps its in-memory state files here
    port, log = free_port(), cwd / "server.log"
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env.update(OFFLINE_ENV, PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    cli = Path(sys.executable).with_name("langgraph")
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "langgraph_cli"]
    command += ["dev", "--config", str(ROOT / "langgraph.json"), "--host", "127.0.0.1", "--port", str(port),
                "--no-browser", "--no-reload"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own process group, stopped as a whole
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"langgraph dev exited with {proc.returncode}:\n{log_tail(log)}")
            try:
                with urllib.request.urlopen(f"{url}/ok", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not answer in 120 s:\n{log_tail(log)}")
            time.sleep(0.5)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def client(server):
    return sdk.get_sync_client(url=server)


@pytest.fixture(scope="module")
def assistant_id(client):
    found = client.assistants.search(graph_id="evolve")
    assert len(found) == 1
    return found[0]["assistant_id"]


def test_schemas_list_the_state_and_the_described_settings(client, assistant_id):
    schemas = client.assistants.get_schemas(assistant_id)
    assert {"seed", "input", "id", "index"} <= set(schemas["input_schema"]["properties"])
    assert {"instruction", "response", "response_ok", "path", "queries"} <= set(schemas["output_schema"]["properties"])
    assert {"candidate", "step", "op"} <= set(schemas["state_schema"]["properties"])
    settings = schemas["context_schema"]["properties"]
    assert set(settings) == {f.name for f in fields(Context)}
    for f in fields(Context):
        assert settings[f.name]["description"] == f.metadata["description"]
    assert settings["budget"]["default"] is None and settings["max_steps"]["default"] == 4


def run_streamed(client, seed: str) -> tuple[list, dict]:
    """Stream one run of `seed` with SMALL_RUN on a new thread: (stream parts, the thread's final values)."""
    thread = client.threads.create()
    parts = list(client.runs.stream(thread["thread_id"], "evolve", input={"seed": seed}, context=SMALL_RUN,
                                    stream_mode=["values", "updates"]))
    return parts, client.threads.get_state(thread["thread_id"])["values"]


def test_a_served_run_streams_and_keeps_its_own_query_cap(client, assistant_id):
    seeds = ["Name a fruit.", "Say hello in French."]
    with ThreadPoolExecutor(2) as pool:  # two runs at once: each must get a ledger of its own
        runs = list(pool.map(lambda s: run_streamed(client, s), seeds))
    for seed, (parts, final) in zip(seeds, runs):
        errors = [p.data for p in parts if p.event == "error"]
        assert not errors, errors
        updated = [node for p in parts if p.event == "updates" for node in p.data]
        assert updated[0] == "route" and "review" in updated and updated[-1] == "respond"
        values = [p.data for p in parts if p.event == "values"]
        assert values[-1] == {k: final[k] for k in values[-1]}  # the last streamed state is the thread's
        assert final["seed"] == seed and final["status"] == "done"
        assert isinstance(final["response"], str) and isinstance(final["response_ok"], bool)
        # one ledger for all nodes of the run: the second route visit cannot pay for another evolution
        assert len(final["path"]) == 1, final["path"]
        assert 2 <= final["queries"] <= SMALL_RUN["budget"]


def failed_run(client, thread_id: str, settings: dict) -> dict:
    """The error event of a run of `settings` on the thread, after checking it is the run's only event
    and the run failed before it started (the thread holds no checkpoint)."""
    parts = list(client.runs.stream(thread_id, "evolve", input={"seed": "Name a fruit."}, context=settings,
                                    stream_mode="values"))
    [error] = [p.data for p in parts if p.event == "error"]
    assert [p.event for p in parts if p.event != "metadata"] == ["error"], parts
    assert client.threads.get_history(thread_id) == []  # not even the input was checkpointed
    return error


@pytest.mark.parametrize("settings, field, reason", [
    ({"budget": -1}, "budget", "must be a whole number of at least 1 or empty, got -1"),
    ({"max_steps": "many"}, "max_steps", "must be a whole number of at least 0"),
    # the server drops a key its context schema lacks; the served factory sees the run's raw context
    ({"budgett": 3}, "budgett", "unknown setting; did you mean 'budget'?"),
    ({**SMALL_RUN, "max_step": 1}, "max_step", "unknown setting; did you mean 'max_steps'?"),
])
def test_a_bad_setting_reaches_the_client_with_its_field_and_reason(client, assistant_id, settings, field, reason):
    error = failed_run(client, client.threads.create()["thread_id"], settings)
    assert error["error"] == "InputError"
    assert f"field '{field}'" in error["message"] and reason in error["message"], error


def test_a_thread_refused_an_unknown_key_runs_with_a_valid_context(client, assistant_id):
    thread_id = client.threads.create()["thread_id"]
    error = failed_run(client, thread_id, {"budgett": 3})
    assert "budgett" in error["message"] and "'budget'" in error["message"], error
    parts = list(client.runs.stream(thread_id, "evolve", input={"seed": "Name a fruit."}, context=SMALL_RUN,
                                    stream_mode="values"))
    assert not [p.data for p in parts if p.event == "error"]
    final = client.threads.get_state(thread_id)["values"]
    assert final["status"] == "done" and 2 <= final["queries"] <= SMALL_RUN["budget"]


def test_a_run_without_a_seed_reaches_the_client_as_an_input_error(client, assistant_id):
    thread = client.threads.create()
    parts = list(client.runs.stream(thread["thread_id"], "evolve", input={"seed": "   "}, context=SMALL_RUN,
                                    stream_mode="values"))
    [error] = [p.data for p in parts if p.event == "error"]
    assert error["error"] == "InputError" and "field 'seed'" in error["message"], error
