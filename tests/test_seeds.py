import json

import pytest

from teamsrl_graph.common.errors import InputError
from teamsrl_graph.dataio.seeds import default_seeds_path, load_seeds

SEEDS = [("Explain tides.", ""), ("Sort these words.", "pear apple fig")]


def write(path, fmt):
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"instruction": i, "input": x}) + "\n" for i, x in SEEDS))
    elif fmt == "json":
        path.write_text(json.dumps([{"instruction": i, "input": x, "output": ""} for i, x in SEEDS]))
    else:
        path.write_text("\n".join(i for i, _ in SEEDS) + "\n\n")


@pytest.mark.parametrize("fmt", ["jsonl", "json", "txt"])
def test_round_trip(tmp_path, fmt):
    path = tmp_path / f"seeds.{fmt}"
    write(path, fmt)
    seeds = load_seeds(path)
    expected = SEEDS if fmt != "txt" else [(i, "") for i, _ in SEEDS]
    assert [(s.instruction, s.input) for s in seeds] == expected


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("s.jsonl", '{"instruction": "ok"}\n{"instruction": "bad"\n', "s.jsonl:2: bad JSON"),
        ("s.jsonl", '{"instruction": "ok"}\n{"prompt": "x"}\n', "s.jsonl:2 field 'instruction': missing"),
        ("s.jsonl", '{"instruction": 3}\n', "s.jsonl:1 field 'instruction': must be a string"),
        ("s.jsonl", '{"instruction": "a", "input": [1]}\n', "field 'input': must be a string"),
        ("s.jsonl", '["a"]\n', "s.jsonl:1: expected a JSON object"),
        ("s.jsonl", '{"instruction": "  "}\n', "s.jsonl:1 field 'instruction': empty instruction"),
        ("s.json", '{"instruction": "a"}', "expected a JSON array"),
        ("s.json", '[{"instruction": "a"},\n {"input": "b"}]', "item:2 field 'instruction': missing"),
        ("s.json", '[\n{"instruction": "a",}]', "s.json:2: bad JSON"),
        ("s.txt", "\n\n", "no seed instructions found"),
    ],
)
def test_bad_files_name_file_line_and_field(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError) as error:
        load_seeds(path)
    assert expected in str(error.value)


@pytest.mark.parametrize("kwargs, place, message", [
    ({"path": 5}, "field 'seeds'", "must be a path to a seed file, got int"),
    ({"path": "{tmp}"}, "{tmp}", "is a folder, not a file"),
    ({"path": "{tmp}/none.txt"}, "{tmp}/none.txt", "no such file"),
    ({"max_tokens": 0}, "field 'max_tokens'", "a whole number of at least 1, got 0"),
])
def test_bad_arguments_name_their_place(tmp_path, kwargs, place, message):
    kwargs = {k: v.format(tmp=tmp_path) if isinstance(v, str) else v for k, v in kwargs.items()}
    with pytest.raises(InputError, match=message) as error:
        load_seeds(**kwargs)
    assert str(error.value).startswith(place.format(tmp=tmp_path))


def test_non_utf8_names_the_line(tmp_path):
    path = tmp_path / "s.txt"
    path.write_bytes(b"fine\nalso fine\nbad \xff byte\n")
    with pytest.raises(InputError, match=r"s.txt:3: not UTF-8"):
        load_seeds(path)


def test_over_long_and_empty_seeds_error_or_skip(tmp_path, caplog):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"instruction": "word " * 50}) + "\n" + json.dumps({"instruction": "Short one."}) + "\n")
    with pytest.raises(InputError, match=r"s.jsonl:1 field 'instruction': instruction of \d+ tokens exceeds"):
        load_seeds(path, max_tokens=20)
    assert [s.instruction for s in load_seeds(path, max_tokens=20, strict=False)] == ["Short one."]
    assert "s.jsonl:1: skipped" in caplog.text


def test_duplicates_are_dropped(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("A\nB\nA\n")
    assert [s.instruction for s in load_seeds(path)] == ["A", "B"]


def test_shipped_seeds_are_many_and_varied():
    seeds = load_seeds(default_seeds_path())
    assert len(seeds) >= 50
    first_words = {s.instruction.split()[0] for s in seeds}
    assert len(first_words) >= 15


@pytest.mark.parametrize(
    "items, message",
    [
        (["Explain tides.", "  "], "seeds:2 field 'instruction': empty instruction"),
        (["Explain tides.", {"prompt": "x"}], "seeds:2 field 'instruction': missing"),
        ([3], "seeds:1: expected a JSON object"),
        ([], "no seed instructions found"),
    ],
)
def test_python_lists_are_checked_like_files(items, message):
    from teamsrl_graph.running.run import _as_seeds

    with pytest.raises(InputError) as error:
        _as_seeds(items)
    assert message in str(error.value)


def test_python_lists_drop_duplicates_and_keep_inputs():
    from teamsrl_graph.running.run import _as_seeds

    seeds = _as_seeds(["A", {"instruction": "B", "input": "x"}, "A"])
    assert [(s.instruction, s.input) for s in seeds] == [("A", ""), ("B", "x")]


@pytest.mark.parametrize(
    "content, suffix, fmt",
    [
        ('{"instruction": "a"}\n{"instruction": "b"}\n', ".txt", "jsonl"),
        ('{"instruction": "a"}\n{"instruction": "b"}\n', ".json", "jsonl"),
        ('{"instruction": "a"}\n', ".txt", "jsonl"),
        ('{"instruction": "a"}\n', ".json", "json"),  # one object where an array belongs: reported as such
        ('[{"instruction": "a"}]', ".txt", "json"),
        ('[{"instruction": "a"}]', ".jsonl", "jsonl"),  # a one-line array in a .jsonl: a bad line 1
        ('[\n  {"instruction": "a"},\n  {"instruction": "b"}\n]\n', ".jsonl", "json"),
        ('[\n {"instruction": "a",}]', ".txt", "json"),  # broken pretty JSON is still JSON
        ('{"instruction": "a"}\n{"instruction": "b"\n', ".txt", "jsonl"),  # broken line 2: JSONL's error
        ("[Draft] Write a poem.\nExplain tides.\n", ".json", "json"),
        ("[Draft] Write a poem.\nExplain tides.\n", ".txt", "text"),
        ("{braces} in a template\n", "", "text"),
        ("42\n", ".txt", "text"),
        ('"Explain tides."\n', ".md", "text"),
        ("Explain tides.\n", ".JSONL", "jsonl"),
        ("", ".jsonl", "text"),
    ],
)
def test_the_format_comes_from_the_content(content, suffix, fmt):
    from teamsrl_graph.dataio.seeds import detect_format

    assert detect_format(content, suffix) == fmt


@pytest.mark.parametrize("name", ["seeds.txt", "seeds.JSONL", "seeds", "seeds.json"])
def test_jsonl_under_any_name_is_read_as_jsonl(tmp_path, name):
    path = tmp_path / name
    write(path, "jsonl")
    assert [(s.instruction, s.input) for s in load_seeds(path)] == SEEDS


@pytest.mark.parametrize("fmt", ["jsonl", "json", "txt"])
def test_a_byte_order_mark_is_dropped(tmp_path, fmt):
    path = tmp_path / f"seeds.{fmt}"
    write(path, fmt)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    seeds = load_seeds(path)
    assert seeds[0].instruction == "Explain tides." and seeds[0].line == 1


def test_line_numbers_survive_unusual_line_breaks(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"instruction": "Split\u2028here\x0c too"}, ensure_ascii=False) + "\n\n{broken\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"s.jsonl:3: bad JSON"):
        load_seeds(path)
    text = tmp_path / "s.txt"
    text.write_text("One\u2028still one\nTwo\n", encoding="utf-8")
    assert [s.line for s in load_seeds(text)] == [1, 2]
