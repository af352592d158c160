"""The README's Python example runs as written, with a scripted chat model standing in for the
embedded one (every other part is real: the graph, `generate` writing its run folder, the ledger)."""

import re
from pathlib import Path

import pytest

from conftest import ScriptedChat, default_expert
from teamsrl_graph.models import factory

README = Path(__file__).resolve().parents[1] / "README.md"


def python_example(section: str) -> str:
    """The first ```python block after the heading `section`."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"### {section}\n")
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)


def test_from_teamsrl_graph_import_resources_gives_the_function():
    from teamsrl_graph import build_graph

    build_graph()  # loads the graph's modules, the one that defines `resources` among them
    from teamsrl_graph import Resources, resources

    assert callable(resources) and resources.__name__ == "resources" and resources.__module__ == Resources.__module__


def test_the_python_example_runs(tmp_path, monkeypatch, capsys):
    built = []

    def scripted(spec="local", **kwargs):  # the embedded model's place; other specs go to the real factory
        if spec != "local":
            return real(spec, **kwargs)
        built.append(ScriptedChat(reply=lambda p: "Yes" if "Answer Yes or No" in p else default_expert(p)))
        return built[-1]

    real = factory.make_chat_model
    monkeypatch.setattr(factory, "make_chat_model", scripted)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(python_example("From Python, and inside your own graphs"), "README.md", "exec"), namespace)
    assert built and sum(len(m.calls) for m in built) > 0
    queries = int(capsys.readouterr().out.split()[-1])
    assert 0 < queries <= namespace["context"].budget
    assert [r["seed"] for r in namespace["records"]] == ["Explain why the sky is blue."]
    assert (tmp_path / "runs" / "py").is_dir()
    assert namespace["out"]["status"] == "done" and isinstance(namespace["out"]["response"], str)


@pytest.mark.parametrize("name", ["Context", "Models", "bind", "build_graph", "generate", "resources", "Budget"])
def test_every_export_is_what_its_module_defines(name):
    import teamsrl_graph

    assert not isinstance(getattr(teamsrl_graph, name), type(teamsrl_graph))
