import pytest

from teamsrl_graph.common import prompts
from teamsrl_graph.common.errors import InputError

GOOD = "# comment\n[system]\nYou edit.\n[user]\nTask: {instruction}\n{input}\n[assistant]\n{instruction} Also"


def test_shipped_templates_load_and_cover_every_operation():
    templates = prompts.load_all()
    assert set(templates) == set(prompts.GRAPH_TEMPLATES)
    for op in prompts.OPERATIONS:
        assert "{instruction}" in templates[op].sections["user"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("[user]\nRewrite this.", "missing placeholder {instruction}"),
        ("[user]\n{instruction} {colour}", "unknown placeholder {colour}"),
        ("[user]\n{instruction.__class__}", "not a plain name"),
        ("[user]\n{instruction[0]}", "not a plain name"),
        ("[user]\n{instruction!r}", "not a plain name"),
        ("[user]\n{instruction:>10}", "not a plain name"),
        ("[user]\n{instruction} }", "unmatched brace"),
        ("stray text\n[user]\n{instruction}", "before the first"),
        ("[system]\nhi {instruction}", "needs a [user] section"),
        ("[user]\n{instruction}\n[user]\nagain", "appears twice"),
    ],
)
def test_bad_templates_name_file_and_placeholder(tmp_path, text, message):
    (tmp_path / "deepen.txt").write_text(text)
    with pytest.raises(InputError) as error:
        prompts.load("deepen", tmp_path)
    assert message in str(error.value)
    assert str(tmp_path / "deepen.txt") in str(error.value)


def test_render_substitutes_once_and_never_evaluates():
    t = prompts.parse(GOOD, "deepen")
    value = "{input} {instruction.__class__} {{x}}"
    messages = t.render({"instruction": value, "input": "data"})
    assert [m.type for m in messages] == ["system", "human", "ai"]
    assert messages[1].text == f"Task: {value}\ndata"
    assert messages[2].text == f"{value} Also"


def test_prefill_becomes_a_hint_for_models_that_cannot_continue():
    messages = prompts.parse(GOOD, "deepen").render({"instruction": "Say hi."}, prefill=False)
    assert [m.type for m in messages] == ["system", "human"]
    assert messages[1].text.endswith("Begin your reply with: Say hi. Also")


def test_literal_braces_survive():
    t = prompts.parse("[user]\nJSON like {{\"a\": 1}} for {instruction}", "deepen")
    assert t.render({"instruction": "X"})[0].text == 'JSON like {"a": 1} for X'


def test_user_folder_overrides_and_reports_missing_files(tmp_path):
    (tmp_path / "deepen.txt").write_text("[user]\nGo deeper: {instruction}")
    assert prompts.load("deepen", tmp_path).sections["user"] == "Go deeper: {instruction}"
    with pytest.raises(InputError, match="no template breadth.txt"):
        prompts.load("breadth", tmp_path)


def test_non_utf8_template_is_a_clear_error(tmp_path):
    (tmp_path / "deepen.txt").write_bytes(b"[user]\n\xff{instruction}")
    with pytest.raises(InputError, match="not UTF-8"):
        prompts.load("deepen", tmp_path)
