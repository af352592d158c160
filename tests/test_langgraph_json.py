"""langgraph.json points at importable graph factories whose run settings come from plain JSON."""

import importlib
import importlib.util
import json
from dataclasses import fields
from pathlib import Path

import pytest
from langgraph.graph.state import CompiledStateGraph

from teamsrl_graph.common.errors import InputError
from teamsrl_graph.evolve import served
from teamsrl_graph.evolve.context import Context

ROOT = Path(__file__).resolve().parents[1]
runtime = pytest.importorskip("langgraph_sdk.runtime")  # what the server passes a factory


def read_runtime():
    return runtime._ReadRuntime(access_context="assistants.read", store=None)


def run_runtime(context):
    return runtime._ExecutionRuntime(access_context="threads.create_run", store=None, context=context)


def test_every_listed_factory_imports_and_returns_the_compiled_graph():
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert config["dependencies"] == ["."]
    for name, target in config["graphs"].items():
        module, _, attr = target.partition(":")
        # `langgraph dev` reads file paths against the folder it is started from; modules work from any
        assert "/" not in module, f"{name}: {target} is a file path"
        factory = getattr(importlib.import_module(module), attr)
        graph = factory(read_runtime())  # schemas and state reads: no context
        assert isinstance(graph, CompiledStateGraph) and graph is factory(run_runtime(None))
        assert graph.builder.context_schema is Context


@pytest.mark.parametrize("context, message", [
    ({"budgett": 3}, "field 'budgett': unknown setting; did you mean 'budget'?"),
    ({"max_steps": 2, "maxsteps": 1}, "field 'maxsteps': unknown setting; did you mean 'max_steps'?"),
    ({"budget": -1}, "field 'budget': must be a whole number of at least 1 or empty, got -1"),
])
def test_the_served_factory_refuses_a_run_context_the_server_would_filter(context, message):
    with pytest.raises(InputError) as raised:
        served.make_graph(run_runtime(context))
    assert str(raised.value) == message


@pytest.mark.parametrize("context", [{}, {"budget": 3, "max_steps": 2, "router": "random"}])
def test_the_served_factory_returns_the_one_graph_for_a_good_run_context(context):
    assert served.make_graph(run_runtime(context)) is served.graph


def test_the_graphs_folder_serves_the_same_graph():
    spec = importlib.util.spec_from_file_location("graphs_evolve", ROOT / "graphs" / "evolve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.graph is importlib.import_module("teamsrl_graph.evolve.served").graph


def test_context_settings_are_plain_json_values():
    public = {f.name: f.default for f in fields(Context) if f.init and f.name not in ("models", "budget", "router")}
    assert json.loads(json.dumps(public)) == public
    assert Context(**{"router": "random", "max_steps": 2}).max_steps == 2
