"""Shared fixtures: a scripted chat model for graph tests, graph-like records, a tiny Llama folder."""

from __future__ import annotations

import re
import threading
from typing import Callable

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

from teamsrl_graph.running.budget import Budget
from teamsrl_graph.evolve.context import Context
from teamsrl_graph.models.factory import Models
from teamsrl_graph.evolve.resources import bind


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


class Spy:
    """Stands in for a function: records its calls and passes them on, or with `refuse` fails the test when called."""

    def __init__(self, target, refuse: bool = False):
        self.target, self.refuse, self.calls = target, refuse, []

    def __call__(self, *a, **k):
        if self.refuse:
            raise AssertionError(f"{self.target.__name__} was called again")
        self.calls.append((a, k))
        return self.target(*a, **k)


def task_of(prompt: str) -> str:
    """The instruction inside an operation prompt ("Task: ...")."""
    m = re.search(r"^Task: (.*)$", prompt, re.M)
    return m.group(1) if m else ""


def default_expert(prompt: str) -> str:
    requirement = re.search(r"^Requirement: (.*)$", prompt, re.M)
    if requirement:  # add_constraints with a drawn constraint: work it in word for word
        return f"{task_of(prompt)} {requirement.group(1)}"
    if prompt.startswith("Task:"):  # another evolution prompt: add a requirement
        return f"{task_of(prompt)} Use exactly {len(prompt) % 7 + 2} bullet points about safety."
    return "A helpful, complete answer with several concrete points and one example."


def default_reviewer(prompt: str) -> str:
    return "Yes"


def context_with(models: Models, *, budget=None, gap=None, router=None, **settings) -> Context:
    """A Context of `settings` bound to ready-made `models` (and a ledger, gap scorer or router
    object when given; an int `budget` and a router name are the Context's own settings)."""
    ledger = budget if isinstance(budget, Budget) else None
    if isinstance(router, str):
        settings["router"], router = router, None
    context = Context(budget=None if ledger else budget, **settings)
    bind(context, models=models, budget=ledger, gap=gap, router=router)
    return context


@pytest.fixture
def make_context():
    """Build a Context with scripted expert/reviewer (and optional responder) functions."""

    def build(expert=default_expert, reviewer=default_reviewer, responder=None, **settings) -> Context:
        e, r = ScriptedChat(reply=expert), ScriptedChat(reply=reviewer)
        models = Models(expert=e, reviewer=r, responder=ScriptedChat(reply=responder) if responder else e)
        return context_with(models, **settings)

    return build


# Records as the evolution graph writes them (the last one has no usable response).
RECORDS = [
    {"id": "r1", "seed": "Name three primary colors.", "input": "",
     "instruction": "Name the three primary colors of paint and give one everyday object for each.",
     "response": "Red, yellow and blue. A fire truck is red, a banana is yellow and the sky is blue.",
     "response_ok": True, "path": [{"op": "concretize", "candidate": "...", "accepted": True, "reason": "", "score": 1.0}],
     "queries": 3},
    {"id": "r2", "seed": "Summarize the text.", "input": "The meeting moved from Monday to Thursday at 3 pm.",
     "instruction": "Summarize the text below in one sentence of at most twelve words.",
     "response": "The meeting now takes place on Thursday at 3 pm.", "response_ok": True, "path": [], "queries": 2},
    {"id": "r3", "seed": "What is 7 times 8?", "input": "",
     "instruction": "What is 7 times 8? Show the multiplication as repeated addition first.",
     "response": "7 + 7 + 7 + 7 + 7 + 7 + 7 + 7 = 56, so 7 times 8 is 56.", "response_ok": True, "path": [],
     "queries": 2},
    {"id": "r4", "seed": "Give a synonym for happy.", "input": "",
     "instruction": "Give two synonyms for 'happy' and use each in a short sentence.",
     "response": "Joyful: She was joyful at the party. Content: He felt content after dinner.",
     "response_ok": True, "path": [], "queries": 2},
    {"id": "r5", "seed": "Translate hello.", "input": "",
     "instruction": "Translate 'good morning' into French and Spanish.",
     "response": "", "response_ok": False, "path": [], "queries": 2},
]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A 2-layer Llama built from a config with the embedded model's tokenizer, saved as a folder."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from teamsrl_graph.models import local

    tokenizer = AutoTokenizer.from_pretrained(local.converted_path())
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=512,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def pytest_terminal_summary(terminalreporter):
    """Report how many README/docs examples test_doc_examples.py ran, and how many are marked not-run."""
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, []) if r.when == "call"]
    totals = {}
    for report in reports:
        for name, value in report.user_properties:
            if name.startswith("doc_examples_"):
                totals[name] = totals.get(name, 0) + value
    if totals:
        terminalreporter.write_line(f"doc examples executed: {totals.get('doc_examples_run', 0)}; "
                                    f"marked not-run: {totals.get('doc_examples_not_run', 0)}")


def wordings(constraint: dict, split: str) -> list[str]:
    """The sentences of `constraint` in `split`'s phrasings, lowercased and without their final stop."""
    from teamsrl_graph.constraints import phrasings

    return [p(constraint["kwargs"]).lower().rstrip(".!") for p in phrasings(constraint["id"], split)]


def says_only(text: str, constraint: dict, split: str) -> bool:
    """`text` uses no phrasing of `constraint` from the other split (one both splits share aside)."""
    other = "heldout" if split == "train" else "train"
    own, text = wordings(constraint, split), text.lower()
    return not any(w in text for w in wordings(constraint, other) if w not in own)

