"""The local model's prompt ids: a template's prefill is continued, otherwise the assistant's turn opens."""

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from transformers import AutoTokenizer

from teamsrl_graph.models.chat import message_ids


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.mark.parametrize("messages, ending", [
    ([HumanMessage("Name a colour.")], "Name a colour.<|im_end|>\n<|im_start|>assistant\n"),
    ([SystemMessage("Be brief."), HumanMessage("Name a colour.")], "Name a colour.<|im_end|>\n<|im_start|>assistant\n"),
    ([HumanMessage("Name a colour."), AIMessage("Colour:")], "Name a colour.<|im_end|>\n<|im_start|>assistant\nColour:"),
])
def test_prompt_ends_where_the_model_should_go_on(tokenizer, messages, ending):
    text = tokenizer.decode(message_ids(tokenizer, messages))
    assert text.endswith(ending)
    assert text.count("<|im_start|>assistant") == 1
    assert all(m.text in text for m in messages)  # every message is there, the system one included
