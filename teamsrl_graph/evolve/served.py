"""The evolution graph that `langgraph dev` serves, and the factory that checks each run's settings.

langgraph.json names the factory by module (`teamsrl_graph.evolve.served:make_graph`), not by file:
the server resolves file paths against the folder it is started from, and a module resolves wherever
the package is importable. Each served run builds its `Context` from the run's JSON `context`, and
with it its own models handle and query ledger (resources.py).

Why a factory and not the compiled graph: the server drops every `context` key that the graph's
context schema does not list before the graph sees the run, so a misspelt setting (`budgett`) would
run silently without it. The server hands a factory the run's context as the caller sent it, so
`make_graph` refuses such a key (and any bad value) before the run starts. It builds no graph: every
call returns the one compiled `graph`. Apps that import the graph use `graph` itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .context import Context
from .graph import build_graph

if TYPE_CHECKING:  # the server resolves this name itself; the SDK need not be importable here
    from langgraph_sdk.runtime import ServerRuntime

graph = build_graph()


def make_graph(runtime: ServerRuntime):
    """`graph`, once the run's raw context (when the server is about to run it) makes a `Context`.

    The server also calls this for schemas, state reads and updates, with no context: then it only
    returns `graph`. A key that is no setting, or a bad value, raises an InputError naming the field
    (and for a key, the closest setting); the server passes its message on to the client as the
    run's error."""
    execution = runtime.execution_runtime
    if execution is not None and execution.context:
        Context(**execution.context)
    return graph
