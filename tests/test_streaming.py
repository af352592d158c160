"""Streaming: the local model's reply in pieces as the engine picks its tokens (a tiny model built
from a config), through LangGraph's `messages` stream; budget events on the `custom` stream; chat
model instances where a model spec goes."""

import json

from conftest import ScriptedChat, default_expert
from langchain_core.messages import AIMessageChunk

from teamsrl_graph.evolve.context import Context
from teamsrl_graph.evolve.graph import build_graph
from teamsrl_graph.models.chat import LocalChatModel
from teamsrl_graph.evolve.resources import resources
from teamsrl_graph.running.run import generate

SEED = "Explain how tides work."


def test_the_local_model_streams_its_reply_token_by_token(tiny_model):
    model = LocalChatModel(model_path=str(tiny_model), max_new_tokens=12)
    chunks = list(model.stream("Name a colour."))
    whole = model.invoke("Name a colour.")  # greedy: the same reply in one piece
    assert len([c for c in chunks if c.content]) >= 4
    assert "".join(c.content for c in chunks) == whole.content
    assert chunks[-1].usage_metadata == whole.usage_metadata and chunks[-1].response_metadata["finish_reason"]
    assert sum(c.usage_metadata is not None for c in chunks) == 1  # usage once, so merged chunks count it once


def test_the_graph_streams_the_answer_in_pieces(tiny_model):
    ctx = Context(model=f"local:{tiny_model}", max_steps=0, answer_tokens=12, answer_samples=1)
    pieces = [(chunk, meta) for chunk, meta in build_graph().stream({"seed": SEED}, context=ctx, stream_mode="messages")
              if meta["langgraph_node"] == "respond"]
    assert len(pieces) >= 4 and all(isinstance(chunk, AIMessageChunk) for chunk, _ in pieces)
    streamed = "".join(chunk.content for chunk, _ in pieces).strip()
    assert streamed and streamed == build_graph().invoke({"seed": SEED}, context=ctx)["response"]


def test_the_async_graph_streams_the_answer_in_pieces_too(tiny_model):  # as `langgraph dev` runs it
    import asyncio

    ctx = Context(model=f"local:{tiny_model}", max_steps=0, answer_tokens=12, answer_samples=1)

    async def pieces():
        return [chunk async for chunk, meta in build_graph().astream({"seed": SEED}, context=ctx, stream_mode="messages")
                if meta["langgraph_node"] == "respond"]

    assert len(asyncio.run(pieces())) >= 4


def test_every_booked_call_is_an_event_on_the_custom_stream(make_context):
    ctx = make_context(router="fixed", max_steps=2, budget=20, answer_samples=1)
    events = [e for mode, e in build_graph().stream({"seed": SEED}, context=ctx, stream_mode=["custom", "updates"])
              if mode == "custom" and e["event"] == "call"]
    assert [(e["node"], e["queries"]) for e in events] == [
        ("breadth", 1), ("review", 2), ("add_constraints", 3), ("review", 4), ("respond", 5)]
    assert {e["budget"] for e in events} == {20} and resources(ctx).budget.queries == 5


def test_a_chat_model_instance_goes_where_a_spec_does(tmp_path):
    expert, reviewer = ScriptedChat(reply=default_expert), ScriptedChat(reply=lambda p: "Yes")
    ctx = Context(model=expert, reviewer_model=reviewer, max_steps=1, answer_samples=1, budget=10)
    [record] = generate([SEED], out=tmp_path, context=ctx, progress=False)
    assert record["path"][0]["accepted"] and len(expert.calls) == 2 and len(reviewer.calls) == 1
    settings = json.loads((tmp_path / "run.json").read_text())
    report = json.loads((tmp_path / "report.json").read_text())
    assert settings["model"] == report["settings"]["model"] == "instance:ScriptedChat"
    assert settings["reviewer_model"] == "instance:ScriptedChat"
