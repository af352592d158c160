"""Shared fixtures: a scripted chat model for graph tests, and seed files."""

from __future__ import annotations

import re
import threading
from typing import Callable

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from teamsrl_graph.context import Context
from teamsrl_graph.models.factory import Models


class ScriptedChat(BaseChatModel):
    """A fake chat model whose reply is a function of the prompt, safe under concurrency.

    `reply(text)` receives the last user message. Calls are recorded for assertions.
    """

    reply: Callable[[str], str]
    _calls: list = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def calls(self) -> list[str]:
        return self._calls

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        text = [m for m in messages if m.type == "human"][-1].text
        with self._lock:
            self._calls.append(text)
        out = self.reply(text)
        usage = {"input_tokens": len(text.split()), "output_tokens": len(out.split()), "total_tokens": len(text.split()) + len(out.split())}
        return ChatResult(generations=[ChatGeneration(message=AIMessage(out, usage_metadata=usage))])


def task_of(prompt: str) -> str:
    """The instruction inside an operation prompt ("Task: ...")."""
    m = re.search(r"^Task: (.*)$", prompt, re.M)
    return m.group(1) if m else ""


def default_expert(prompt: str) -> str:
    if prompt.startswith("Task:"):  # an evolution prompt: add a requirement
        return f"{task_of(prompt)} Use exactly {len(prompt) % 7 + 2} bullet points about safety."
    return "A helpful, complete answer with several concrete points and one example."


def default_reviewer(prompt: str) -> str:
    return "Yes"


@pytest.fixture
def make_context():
    """Build a Context with scripted expert/reviewer (and optional responder) functions."""

    def build(expert=default_expert, reviewer=default_reviewer, responder=None, **settings) -> Context:
        e, r = ScriptedChat(reply=expert), ScriptedChat(reply=reviewer)
        models = Models(expert=e, reviewer=r, responder=ScriptedChat(reply=responder) if responder else e)
        return Context(models=models, **settings)

    return build
