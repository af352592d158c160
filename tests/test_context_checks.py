"""Run settings and inputs are checked wherever they arrive: `Context(...)`, `dataclasses.replace`, a
graph's `context=` dict, a run or resume without a context, a state without a usable seed; and the
graph's JSON schemas describe every input and output field, with `seed` required."""

from dataclasses import replace

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from teamsrl_graph import Context, build_graph
from teamsrl_graph.common.errors import InputError

SEED = {"seed": "Explain how tides work."}


@pytest.mark.parametrize("make", [
    lambda: Context(**{"budgett": 3}),
    lambda: replace(Context(), budgett=3),
    lambda: build_graph().invoke(SEED, context={"budgett": 3}),
])
def test_an_unknown_setting_is_named_with_the_closest_field(make):
    with pytest.raises(InputError) as caught:
        make()
    assert caught.value.field == "budgett" and "did you mean 'budget'" in str(caught.value)


def test_an_unknown_setting_with_no_close_field_lists_the_known_ones():
    with pytest.raises(InputError, match="known settings: model, reviewer_model"):
        Context(zzz=1)


@pytest.mark.parametrize("settings, field, reason", [
    ({"budget": -1}, "budget", "a whole number of at least 1 or empty"),
    ({"max_steps": -1}, "max_steps", "a whole number of at least 0"),
    ({"router": "smart"}, "router", "unknown router"),
    ({"repair": "yes"}, "repair", "unknown mode 'yes'; expected one of on, off"),
    ({"improve": "better"}, "improve", "unknown mode 'better'; expected one of none, pit, self-refine"),
    ({"review": "judge"}, "review", "unknown mode 'judge'; expected one of model, human"),
    ({"type_draw": "any"}, "type_draw", "unknown mode 'any'; expected one of learned, uniform"),
    ({"review_threshold": 1.5}, "review_threshold", "a number from 0 to 1"),
    ({"review_threshold": -0.1}, "review_threshold", "a number from 0 to 1"),
    ({"answer_samples": True}, "answer_samples", "a whole number of at least 1, got True"),
    ({"max_steps": True}, "max_steps", "a whole number of at least 0, got True"),
    ({"token_budget": 0}, "token_budget", "a whole number of at least 1 or empty"),
    ({"improve_threshold": float("nan")}, "improve_threshold", "must be a number, got nan"),
    ({"requests_per_second": float("inf")}, "requests_per_second", "a number above 0 or empty, got inf"),
    ({"sample_temperature": -0.5}, "sample_temperature", "a number of 0 or more"),
    ({"max_batch": 0}, "max_batch", "a whole number of at least 1 or empty, got 0"),
])
def test_a_bad_value_in_a_context_dict_is_an_input_error_naming_the_field(settings, field, reason):
    with pytest.raises(InputError, match=reason) as caught:
        build_graph().invoke(SEED, context=settings)
    assert caught.value.field == field and isinstance(caught.value, ValueError)


def test_binding_resources_to_a_dict_says_to_make_the_context_first():
    from teamsrl_graph import bind

    with pytest.raises(InputError, match=r"make one with Context\(\*\*settings\)") as caught:
        bind({"budget": 3})
    assert caught.value.field == "context"


def test_a_run_without_a_context_says_so():
    with pytest.raises(InputError, match="runs with a Context, got no context") as caught:
        build_graph().invoke(SEED)
    assert caught.value.field == "context"


def test_a_resume_without_a_context_says_so(make_context):
    ctx = make_context(router="fixed", max_steps=2, answer_samples=1, review="human")
    graph, config = build_graph(checkpointer=InMemorySaver()), {"configurable": {"thread_id": "t"}}
    assert graph.invoke(SEED, config, context=ctx)["__interrupt__"]
    with pytest.raises(InputError, match="again when resuming a thread"):
        graph.invoke(Command(resume=True), config)
    resumed = graph.invoke(Command(resume=True), config, context=ctx)  # with it, the thread goes on
    assert resumed["path"][0]["accepted"] and resumed["path"][0]["reason"] == "gained"


@pytest.mark.parametrize("state, missing", [
    ({}, "no 'seed'"),
    ({"input": "some text"}, "no 'seed'"),
    ({"seed": ""}, "an empty 'seed'"),
    ({"seed": "  \n\t"}, "an empty 'seed'"),
    ({"seed": 7}, "a 'seed' of type int"),
])
def test_a_state_without_a_usable_seed_says_what_is_missing(make_context, state, missing):
    ctx = make_context(router="fixed", max_steps=1)
    with pytest.raises(InputError, match=missing) as caught:
        build_graph().invoke(state, context=ctx)
    assert caught.value.field == "seed"


@pytest.mark.parametrize("schema", ["get_input_jsonschema", "get_output_jsonschema"])
def test_every_input_and_output_field_is_described(schema):
    properties = getattr(build_graph(), schema)()["properties"]
    assert len(properties) >= 4
    assert {name for name, spec in properties.items() if not spec.get("description")} == set()


def test_seed_is_the_one_required_input():
    assert build_graph().get_input_jsonschema()["required"] == ["seed"]


@pytest.mark.parametrize("max_batch, rows", [(None, 64), (5, 5)])
def test_max_batch_reaches_the_local_models_engine_rows(max_batch, rows):
    from teamsrl_graph.evolve.resources import _models

    models = _models(Context(max_batch=max_batch, reviewer_model="local:" + __file__.rsplit("/", 1)[0]), None)
    assert models.expert.max_batch == models.responder.max_batch == models.reviewer.max_batch == rows
    assert models.expert is models.responder and models.reviewer is not models.expert  # nothing loaded yet
