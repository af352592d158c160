"""Every request a provider sees is booked, whatever chat model object the user passes: a user's
`ChatOpenAI` (whose SDK would retry twice on its own) is used as a copy without those retries, and
the run's booked retries take their place, against the fault-injecting fake server on loopback."""

import pytest
from langchain_openai import ChatOpenAI

from conftest import ScriptedChat
from teamsrl_graph import Context, Models, bind, build_graph, resources
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.testing.fake_openai import FakeOpenAI

SETTINGS = {"max_steps": 0, "answer_samples": 1, "max_attempts": 3, "budget": 10}


def users_model(server: FakeOpenAI, **kwargs) -> ChatOpenAI:
    return ChatOpenAI(model="fake-model", base_url=server.base_url, api_key="sk-test", timeout=10, **kwargs)


def as_setting(model):
    return Context(model=model, **SETTINGS)


def as_bound(model):
    context = Context(**SETTINGS)
    bind(context, models=Models(expert=model, reviewer=model, responder=model))
    return context


@pytest.mark.parametrize("given", [as_setting, as_bound], ids=["context-field", "bind"])
@pytest.mark.parametrize("kwargs", [{}, {"max_retries": 5}], ids=["sdk-default", "max_retries=5"])
def test_booked_calls_are_the_requests_the_server_saw(given, kwargs):
    with FakeOpenAI(script=["500", "500", "ok"]) as server:
        model = users_model(server, **kwargs)
        context = given(model)
        out = build_graph().invoke({"seed": "Name a fruit."}, context=context)
        booked = resources(context).budget.queries
        assert out["status"] == "done" and out["response"].startswith("Answer to:")
        assert booked == server.total == 3 and out["queries"] == 3  # the record counts them too
    assert model.max_retries == kwargs.get("max_retries") and model.root_client.max_retries == kwargs.get("max_retries", 2)


def test_a_model_that_retries_by_itself_and_cannot_be_copied_is_refused():
    class Retrying(ScriptedChat):
        max_retries: int = 2

    with pytest.raises(InputError, match="build it with max_retries=0") as caught:
        resources(Context(model=Retrying(reply=lambda p: "Yes")))
    assert caught.value.field == "model"
    quiet = Retrying(reply=lambda p: "Yes", max_retries=0)
    assert resources(Context(model=quiet)).models.expert is quiet  # no retries of its own: used as it is
