"""The answer cache: one entry per (weights, adapter content, prompts, settings); damaged entries are redone."""

import os

import pytest

from teamsrl_graph.evaluation import answer_cache


@pytest.fixture
def base(tmp_path, monkeypatch):
    monkeypatch.setenv("TEAMSRL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "config.json").write_text("{}")
    return folder


def test_answers_are_made_once_then_read_back(base):
    calls = []

    def produce():
        calls.append(1)
        return ["one", "two"]

    first = answer_cache.cached_answers(base, ["p1", "p2"], {"max_new_tokens": 8}, produce)
    second = answer_cache.cached_answers(base, ["p1", "p2"], {"max_new_tokens": 8}, produce)
    assert first == (["one", "two"], False)
    assert second == (["one", "two"], True)
    assert len(calls) == 1


@pytest.mark.parametrize("change", ["prompts", "settings", "weights", "chat template"])
def test_any_change_of_what_answers_depend_on_misses(base, change):
    prompts, settings = ["p1"], {"max_new_tokens": 8}
    (base / "chat_template.jinja").write_text("{{ messages }}")
    before = answer_cache.key(base, prompts, settings)
    if change == "chat template":
        (base / "chat_template.jinja").write_text("{{ messages | reverse }}")
    elif change == "prompts":
        prompts = ["p1 "]
    elif change == "settings":
        settings = {"max_new_tokens": 9}
    else:
        (base / "model.safetensors").write_bytes(b"other weights")
        os.utime(base / "model.safetensors", ns=(1, 1))
    assert answer_cache.key(base, prompts, settings) != before


@pytest.mark.parametrize("content", ["not json", '{"answers": ["only one"]}', '{"answers": [1, 2]}', "{}"])
def test_a_damaged_entry_is_made_again(base, content):
    entry = answer_cache.key(base, ["p1", "p2"], {})
    answer_cache.path_of(entry).parent.mkdir(parents=True)
    answer_cache.path_of(entry).write_text(content)
    answers, from_cache = answer_cache.cached_answers(base, ["p1", "p2"], {}, lambda: ["a", "b"])
    assert (answers, from_cache) == (["a", "b"], False)
    assert answer_cache.load(entry, 2) == ["a", "b"]


@pytest.fixture
def adapter(tmp_path):
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_model.safetensors").write_bytes(b"lora weights")
    (folder / "adapter_config.json").write_text('{"r": 8}')
    (folder / "README.md").write_text("model card")
    return folder


@pytest.mark.parametrize("change, misses", [
    ("weights", True), ("configuration", True), ("model card", False),  # the card does not change an answer
    ("moved", False), ("rewritten alike", False),  # the key is the adapter's content, not its place or time
])
def test_an_adapters_answers_are_keyed_by_its_content(base, adapter, tmp_path, change, misses):
    prompts, settings = ["p1"], {"max_new_tokens": 8}
    before = answer_cache.key(base, prompts, settings, answer_cache.adapter_sha256(adapter))
    assert before != answer_cache.key(base, prompts, settings)  # never the base model's answers
    if change == "weights":
        (adapter / "adapter_model.safetensors").write_bytes(b"lora weightz")
    elif change == "configuration":
        (adapter / "adapter_config.json").write_text('{"r": 4}')
    elif change == "model card":
        (adapter / "README.md").write_text("model card, with evaluation figures")
    elif change == "moved":
        adapter = adapter.rename(tmp_path / "elsewhere")
    else:
        (adapter / "adapter_model.safetensors").write_bytes(b"lora weights")
        os.utime(adapter / "adapter_model.safetensors", ns=(1, 1))
    assert (answer_cache.key(base, prompts, settings, answer_cache.adapter_sha256(adapter)) != before) is misses


def test_an_adapters_answers_are_made_once(base, adapter):
    calls = []

    def produce():
        calls.append(1)
        return ["tuned"]

    digest = answer_cache.adapter_sha256(adapter)
    assert answer_cache.cached_answers(base, ["p1"], {}, lambda: ["plain"]) == (["plain"], False)
    assert answer_cache.cached_answers(base, ["p1"], {}, produce, digest) == (["tuned"], False)
    assert answer_cache.cached_answers(base, ["p1"], {}, produce, digest) == (["tuned"], True)
    assert answer_cache.cached_answers(base, ["p1"], {}, lambda: ["other"]) == (["plain"], True)
    assert len(calls) == 1
