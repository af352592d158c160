"""langgraph.json points at importable compiled graphs whose run settings come from plain JSON."""

import importlib
import importlib.util
import json
from dataclasses import fields
from pathlib import Path

from langgraph.graph.state import CompiledStateGraph

from teamsrl_graph.evolve.context import Context

ROOT = Path(__file__).resolve().parents[1]


def test_every_listed_graph_imports_as_a_compiled_graph():
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert config["dependencies"] == ["."]
    for name, target in config["graphs"].items():
        module, _, attr = target.partition(":")
        # `langgraph dev` reads file paths against the folder it is started from; modules work from any
        assert "/" not in module, f"{name}: {target} is a file path"
        graph = getattr(importlib.import_module(module), attr)
        assert isinstance(graph, CompiledStateGraph)
        assert graph.builder.context_schema is Context


def test_the_graphs_folder_serves_the_same_graph():
    spec = importlib.util.spec_from_file_location("graphs_evolve", ROOT / "graphs" / "evolve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.graph is importlib.import_module("teamsrl_graph.evolve.served").graph


def test_context_settings_are_plain_json_values():
    public = {f.name: f.default for f in fields(Context) if f.init and f.name not in ("models", "budget", "router")}
    assert json.loads(json.dumps(public)) == public
    assert Context(**{"router": "random", "max_steps": 2}).max_steps == 2
