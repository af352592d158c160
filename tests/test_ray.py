"""`generate` on a local Ray cluster (started once for the module): seeds over two workers, each with
its own endpoint (a fake OpenAI-compatible server on loopback), one ledger actor whose cap holds
across them, one dataset written by the driver, resume; and the errors a user meets."""

import json
import sys

import pytest
import ray

from teamsrl_graph.cli import main
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.running.run import generate
from teamsrl_graph.scale import generate_on_ray
from teamsrl_graph.testing.fake_openai import FakeOpenAI
from teamsrl_graph.testing.soak import scripted_reply

SEEDS = [f"Explain how topic number {i} affects daily life." for i in range(10)]


@pytest.fixture(scope="module")
def cluster():
    ray.init(address="local", num_cpus=2, include_dashboard=False)  # a new instance, whatever else runs here
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def servers():
    with FakeOpenAI(reply=scripted_reply) as a, FakeOpenAI(reply=scripted_reply) as b:
        yield a, b


def settings(**values) -> Context:
    """The fixed router and no sampling: each record depends on its seed (and position) alone."""
    # uniform type draws: a learned draw depends on the order answers are verified in, which no two runs share
    return Context(model="openai:fake-model", router="fixed", max_steps=2, type_draw="uniform", **values)


def chats(server) -> int:
    """Answers the server was asked for (a request for n answers counts n)."""
    return sum(int((seen.body or {}).get("n") or 1) for seen in server.requests if seen.path.endswith("/chat/completions"))


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_workers_share_one_cap_and_write_one_dataset(cluster, servers, tmp_path):
    before = [chats(s) for s in servers]
    records = generate_on_ray(SEEDS, out=tmp_path, context=settings(budget=23), base_urls=[s.base_url for s in servers],
                              concurrency=3, progress=False)
    sent = [chats(s) - n for s, n in zip(servers, before)]
    written = lines(tmp_path / "dataset.jsonl")
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    report = json.loads((tmp_path / "report.json").read_text())
    assert all(n > 0 for n in sent)  # both workers ran, each against its own endpoint
    assert ledger["queries"] == report["queries"]["total"] == sum(sent) == sum(r["queries"] for r in written) <= 23
    assert report["skipped_for_budget"] > 0  # the cap was what stopped the run
    assert len({r["id"] for r in written}) == len(written) == len(records) == report["records"]
    assert report["records"] + report["skipped_for_budget"] == len(SEEDS)
    assert sum(report["ray"]["records_by_worker"]) == len(written) and report["ray"]["workers"] == 2
    assert json.loads((tmp_path / "run.json").read_text())["budget"] == 23


def test_records_are_those_of_a_run_in_one_process(cluster, servers, tmp_path):
    context = settings(base_url=servers[0].base_url)
    alone = generate(SEEDS[:6], out=tmp_path / "alone", context=context, concurrency=3, progress=False)
    spread = generate_on_ray(SEEDS[:6], out=tmp_path / "ray", context=settings(base_url=servers[0].base_url),
                             base_urls=[s.base_url for s in servers], concurrency=2, progress=False)
    by_id = lambda records: {r["id"]: r for r in records}  # noqa: E731
    assert by_id(spread) == by_id(alone) and len(spread) == 6
    assert by_id(lines(tmp_path / "ray" / "dataset.jsonl")) == by_id(alone)


def test_each_worker_runs_its_own_local_model(cluster, tiny_model, tmp_path):
    context = Context(model=f"local:{tiny_model}", router="fixed", max_steps=1, type_draw="uniform", rewrite_tokens=8, answer_tokens=8,
                      answer_samples=1)
    records = generate_on_ray(SEEDS[:2], out=tmp_path, context=context, workers=2, concurrency=1, progress=False)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ray"]["records_by_worker"] == [1, 1]  # one seed each, on the model each worker loaded
    assert report["queries"]["total"] == sum(r["queries"] for r in records) > 0 and len(records) == 2


def test_resume_from_the_command_line_runs_only_the_seeds_not_done(cluster, servers, tmp_path, capsys):
    urls = [s.base_url for s in servers]
    out = tmp_path / "run"
    first = generate_on_ray(SEEDS, out=out, context=settings(budget=12), base_urls=urls, concurrency=2, progress=False)
    assert 0 < len(first) < len(SEEDS)
    (tmp_path / "seeds.txt").write_text("\n".join(SEEDS) + "\n")
    before = sum(chats(s) for s in servers)
    code = main(["generate", "--seeds", str(tmp_path / "seeds.txt"), "--out", str(out), "--model", "openai:fake-model",
                 "--router", "fixed", "--max-steps", "2", "--type-draw", "uniform", "--budget", "500", "--concurrency", "4", "--resume",
                 "--ray", "--worker-base-url", urls[1]])  # resumed by one worker instead of two
    assert code == 0 and f"{len(SEEDS)} records" in capsys.readouterr().out
    written = lines(out / "dataset.jsonl")
    assert written[: len(first)] == first  # the first attempt's records stay as they were
    assert sorted(r["seed"] for r in written) == sorted(SEEDS)  # every seed once: none lost, none twice
    new = written[len(first):]
    assert sum(chats(s) for s in servers) - before == sum(r["queries"] for r in new)  # done seeds did not run again
    ledger = json.loads((out / "ledger.json").read_text())
    assert ledger["queries"] == sum(r["queries"] for r in written)  # the ledger went on from the first attempt
    assert json.loads((out / "report.json").read_text())["ray"] == {"workers": 1, "endpoints": [urls[1]],
                                                                   "records_by_worker": [len(new)]}


def test_without_ray_installed_the_command_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    (tmp_path / "seeds.txt").write_text("Explain tides.\n")
    code = main(["generate", "--seeds", str(tmp_path / "seeds.txt"), "--out", str(tmp_path / "o"), "--ray"])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'teamsrl-graph[ray]'" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_bad_setting_fails_in_the_workers_before_anything_is_written(cluster, tmp_path):
    with pytest.raises(InputError, match="does not exist") as error:
        generate_on_ray(SEEDS, out=tmp_path / "o", context=Context(model="local:/no/such/folder"), workers=1, progress=False)
    assert error.value.field == "model" and not (tmp_path / "o").exists()


@pytest.mark.parametrize("kwargs, field, message", [
    ({"workers": 3}, "--workers", "need 3 CPUs; the Ray cluster has 2"),
    ({"workers": 2, "base_urls": ["http://127.0.0.1:1/v1"]}, "--workers", "2 workers for 1 endpoints"),
    ({"address": "ray://127.0.0.1:10001"}, "--ray", "Ray Client addresses"),
    ({"concurrency": 0}, "concurrency", "a whole number of at least 1, got 0"),
])
def test_runs_the_cluster_cannot_hold_are_refused(cluster, tmp_path, kwargs, field, message):
    with pytest.raises(InputError, match=message) as error:
        generate_on_ray(SEEDS, out=tmp_path / "o", context=settings(), progress=False, **kwargs)
    assert error.value.field == field and not (tmp_path / "o").exists()


def test_worker_options_without_ray_are_refused(tmp_path, capsys):
    (tmp_path / "seeds.txt").write_text("Explain tides.\n")
    code = main(["generate", "--seeds", str(tmp_path / "seeds.txt"), "--out", str(tmp_path / "o"), "--workers", "2"])
    assert code == 2 and "'--workers': is only used with --ray" in capsys.readouterr().err

