"""The TeaMs-RL evolution graph: route -> {operation} -> review -> route ... -> respond [-> improve ...].

One invocation evolves one seed instruction. The router picks an operation or STOP; the operation's
node asks the expert for a rewrite; the reviewer keeps it or rolls it back; at STOP (or max depth,
or an exhausted budget) the responder answers the final instruction. With `Context.improve` set,
`improve` then rewrites the answer round by round (PIT or Self-Refine) until it stops gaining.
Run many seeds in parallel with `graph.batch(...)` or `teamsrl_graph.generate`.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from .context import Context
from .nodes import after_improve, after_respond, after_route, improve, make_evolve, respond, review, route
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
    builder.add_node("improve", improve)

    builder.add_edge(START, "route")
    builder.add_conditional_edges("route", after_route, [*OPERATIONS, "respond", END])
    builder.add_edge("review", "route")
    builder.add_conditional_edges("respond", after_respond, ["respond", "improve", END])
    builder.add_conditional_edges("improve", after_improve, ["improve", END])
    return builder.compile(checkpointer=checkpointer, name=name)
