"""Improving given answers with the graph's own improvement loop (PIT or Self-Refine), with no
evolution and no answering: `improve_answers(instructions, answers, context)`.

Every (instruction, answer) goes through `evolve.graph.build_improve_graph`, which runs the nodes of
a full run's improve step: the same prompts, rounds (`improve_rounds`), token caps (`improve_tokens`),
stop rules and reservations against the context's query budget. So two modes can start from one list
of answers and be compared answer by answer. The records are returned in the order given (each with
`draft`, the final `response`, its `improvements`, `improve_stop` and `queries`); nothing is written.
"""

from __future__ import annotations

from ..common.errors import InputError
from ..common.parallel import each
from ..evolve.context import Context
from ..evolve.graph import build_improve_graph
from ..evolve.resources import resources


def improve_answers(instructions: list[str], answers: list[str], context: Context, concurrency: int = 8,
                    progress: bool = True) -> list[dict]:
    """One record per answer: the answer improved for at most `context.improve_rounds` rounds."""
    if len(instructions) != len(answers):
        raise InputError(f"{len(instructions)} instructions but {len(answers)} answers", field="answers")
    if context.improve == "none":
        raise InputError("choose an improve mode: pit or self-refine", field="improve")
    res = resources(context)  # bad specs, prompts or a missing PIT folder fail before any call
    res.models.load()
    graph, records = build_improve_graph(), [None] * len(answers)

    def one(i: int):
        records[i] = graph.invoke({"seed": instructions[i], "response": answers[i], "index": i}, context=context)

    each(one, len(answers), concurrency, f"improve ({context.improve})", "answer", progress)
    return records
