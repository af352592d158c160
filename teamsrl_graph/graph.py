"""The TeaMs-RL evolution graph: route -> {operation} -> review -> route ... -> respond.

One invocation evolves one seed instruction. The router picks an operation or STOP; the operation's
node asks the expert for a rewrite; the reviewer keeps it or rolls it back; at STOP (or max depth,
or an exhausted budget) the responder answers the final instruction. Run many seeds in parallel
with `graph.batch(...)` or `teamsrl_graph.generate`.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from .context import Context
from .nodes import after_respond, after_route, make_evolve, respond, review, route
from .prompts import OPERATIONS
from .state import InputState, OutputState, State


def build_graph(checkpointer=None, name: str = "teamsrl_evolve"):
    builder = StateGraph(State, context_schema=Context, input_schema=InputState, output_schema=OutputState)
    builder.add_node("route", route)
    for op in OPERATIONS:
        builder.add_node(op, make_evolve(op))
        builder.add_edge(op, "review")
    builder.add_node("review", review)
    builder.add_node("respond", respond)

    builder.add_edge(START, "route")
    builder.add_conditional_edges("route", after_route, [*OPERATIONS, "respond", END])
    builder.add_edge("review", "route")
    builder.add_conditional_edges("respond", after_respond, ["respond", END])
    return builder.compile(checkpointer=checkpointer, name=name)
