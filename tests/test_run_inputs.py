"""A run's own arguments (`generate`, `generate_on_ray`): seeds, context, seeds in flight and run
config are checked before anything is built or written, and a dict of settings is a Context."""

import json

import pytest

from teamsrl_graph.common.errors import InputError
from teamsrl_graph.running.run import generate
from teamsrl_graph.testing.fake_openai import FakeOpenAI
from teamsrl_graph.testing.soak import scripted_reply

SEEDS = ["Explain how tides work.", "Describe a rainbow."]


@pytest.mark.parametrize("kwargs, field, message", [
    ({"concurrency": 0}, "concurrency", "a whole number of at least 1, got 0"),
    ({"concurrency": -1}, "concurrency", "a whole number of at least 1, got -1"),
    ({"concurrency": 1.5}, "concurrency", "a whole number of at least 1, got 1.5"),
    ({"concurrency": "4"}, "concurrency", "a whole number of at least 1, got '4'"),
    ({"concurrency": True}, "concurrency", "a whole number of at least 1, got True"),
    ({"seeds": 5}, "seeds", "a path or a list of seed instructions, got int"),
    ({"seeds": {"instruction": "Explain tides."}}, "seeds", "a path or a list of seed instructions, got dict"),
    ({"config": 5}, "config", "a dict of LangGraph run settings"),
    ({"context": "budget=3"}, "context", "a Context or a dict of its settings, got str"),
    ({"context": {"budgett": 3}}, "budgett", "did you mean 'budget'"),
])
def test_bad_run_arguments_are_refused_before_anything_is_written(make_context, tmp_path, kwargs, field, message):
    kwargs = {"seeds": SEEDS, "context": make_context(max_steps=1), **kwargs}
    with pytest.raises(InputError, match=message) as caught:
        generate(out=tmp_path / "o", progress=False, **kwargs)
    assert caught.value.field == field and not (tmp_path / "o").exists()


def test_a_dict_of_settings_runs_as_that_context(tmp_path):
    with FakeOpenAI(reply=scripted_reply) as server:
        settings = {"model": "openai:fake-model", "base_url": server.base_url, "max_steps": 1, "budget": 4}
        records = generate(SEEDS, out=tmp_path / "o", context=settings, progress=False, concurrency=1)
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["max_steps"] == 1 and run["budget"] == 4 and run["model"] == "openai:fake-model"
    assert records and sum(r["queries"] for r in records) <= 4
