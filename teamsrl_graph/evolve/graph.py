"""The TeaMs-RL evolution graph: route -> {operation} -> review -> route ... -> respond [-> improve ...].

One invocation evolves one seed instruction. The router picks an operation or STOP; the operation's
node asks the expert for a rewrite; the reviewer keeps it or rolls it back (with `Context.review="human"`,
`confirm` pauses the run for a person before keeping it); at STOP (or max depth,
or an exhausted budget) the responder answers the final instruction. With `Context.improve` set,
`improve` then rewrites the answer round by round (PIT or Self-Refine) until it stops gaining.
Run many seeds in parallel with `graph.batch(...)` or `teamsrl_graph.generate`. `build_improve_graph`
is the improvement loop alone, started from given answers (`running.improve.improve_answers`). Every node carries its
instruction's books and promised calls in the state (checkpoints.py), so a checkpointed thread
resumes in a fresh process.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from .actions import OPERATIONS
from .checkpoints import charged
from .context import Context
from .nodes import confirm, improve, make_evolve, respond, review, route, take_answer
from .state import InputState, OutputState, State


def build_graph(checkpointer=None, name: str = "teamsrl_evolve"):
    builder = StateGraph(State, context_schema=Context, input_schema=InputState, output_schema=OutputState)
    builder.add_node("route", charged(route), destinations=(*OPERATIONS, "respond", END))
    for op in OPERATIONS:
        builder.add_node(op, charged(make_evolve(op)), destinations=("review", "route"))
    builder.add_node("review", charged(review), destinations=("route", "confirm"))
    builder.add_node("confirm", charged(confirm), destinations=("route",))
    builder.add_node("respond", charged(respond), destinations=("respond", "improve", END))
    builder.add_node("improve", charged(improve), destinations=("improve", END))
    builder.add_edge(START, "route")
    return builder.compile(checkpointer=checkpointer, name=name)


def build_improve_graph(checkpointer=None, name: str = "teamsrl_improve"):
    """take_answer -> improve -> improve ...: the improvement loop alone, started from an answer given
    in the input (`{"seed": instruction, "response": answer}`), with the nodes, reservations and stop
    rules of the full graph's improve step (`Context.improve` picks PIT or Self-Refine)."""
    builder = StateGraph(State, context_schema=Context, output_schema=OutputState)
    builder.add_node("take_answer", charged(take_answer), destinations=("improve", END))
    builder.add_node("improve", charged(improve), destinations=("improve", END))
    builder.add_edge(START, "take_answer")
    return builder.compile(checkpointer=checkpointer, name=name)
