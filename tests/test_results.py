"""Result files and the pages rendered from them: every results/*.json is well-formed, the rendered
pages (docs/results.md, the README's headline block) match the JSON, and the renderer lays out any
result of the declared shape and refuses malformed ones with the file and field named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from docs import render
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.common.results import cpu_model, load_result, this_machine, write_result

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"title": "Speed", "command": "python benchmarks/x.py", "commit": "abc", "date": "2026-12-01",
        "machine": {"cores": 2}, "figures": {"ratio": 1.5}}


def test_shipped_results_are_well_formed():
    files = sorted((ROOT / "results").glob("*.json"))
    assert files
    for path in files:
        result = load_result(path)
        if result.get("superseded_by"):
            assert (ROOT / "results" / result["superseded_by"]).exists(), f"{path.name}: superseded_by names no file"


def test_rendered_pages_are_up_to_date():
    stale = [str(path.relative_to(ROOT)) for path, text in render.rendered().items() if path.read_text() != text]
    assert not stale, f"out of date with results/ (run python -m docs.render): {stale}"


def site(tmp_path: Path, results: dict[str, dict]) -> Path:
    (tmp_path / "results").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(f"# x\n\n{render.START}\n{render.END}\n\nend\n")
    for name, result in results.items():
        (tmp_path / "results" / name).write_text(json.dumps(result))
    return tmp_path


@pytest.mark.parametrize("result, shown, hidden", [
    (GOOD, ["## Speed", "| ratio | 1.5 |", "`python benchmarks/x.py`", "2 cores"], []),
    ({**GOOD, "columns": ["a", "b|c"], "rows": [[1, None], ["x", [1, 2]]]}, ["| a | b\\|c |", "| 1 |  |", "| x | 1, 2 |"], []),
    ({**GOOD, "superseded_by": "new.json"}, ["No results yet."], ["## Speed"]),
])
def test_results_page_layout(tmp_path, result, shown, hidden):
    page = render.rendered(site(tmp_path, {"one.json": result}))[tmp_path / "docs" / "results.md"]
    for text in shown:
        assert text in page
    for text in hidden:
        assert text not in page


def test_headline_goes_to_the_readme_between_markers(tmp_path):
    root = site(tmp_path, {"one.json": {**GOOD, "headline": ["ratio"]}, "two.json": GOOD})
    readme = render.rendered(root)[root / "README.md"]
    assert readme.startswith("# x\n\n" + render.START) and readme.endswith(render.END + "\n\nend\n")
    assert readme.count("**1.5**") == 1 and "Speed: ratio" in readme


def test_a_readme_table_goes_to_the_readme_with_its_command(tmp_path):
    table = {"columns": ["method", "p"], "rows": [["hir", 0.01]]}
    root = site(tmp_path, {"one.json": {**GOOD, **table, "title": "Trainers", "readme_table": True},
                           "two.json": {**GOOD, **table, "title": "Other"}})
    readme = render.rendered(root)[root / "README.md"]
    assert "### Trainers\n\n| method | p |" in readme and "| hir | 0.01 |" in readme
    assert "`python benchmarks/x.py` (2026-12-01, 2 cores)" in readme and "Other" not in readme


@pytest.mark.parametrize("change, field", [
    ({"readme_table": True}, "readme_table"),
    ({"columns": ["a"], "rows": [[1]], "readme_table": "yes"}, "readme_table"),
    ({"title": None}, "title"),
    ({"machine": {"arch": "x86_64"}}, "machine.cores"),
    ({"figures": None}, "figures"),
    ({"columns": ["a", "b"], "rows": [[1]]}, "rows"),
    ({"columns": ["a"]}, "columns"),
    ({"headline": ["missing"]}, "headline"),
    ({"date": 20261201}, "date"),
])
def test_malformed_results_name_file_and_field(tmp_path, change, field):
    result = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(result))
    with pytest.raises(InputError) as error:
        load_result(path)
    assert error.value.field == field and "bad.json" in str(error.value)


def test_write_result_records_how_it_was_measured(tmp_path):
    path = write_result(tmp_path / "r" / "x.json", "Speed", figures={"ratio": 2.0}, headline=["ratio"], command="python x.py")
    result = load_result(path)
    assert result["command"] == "python x.py" and result["machine"]["cores"] >= 1
    assert len(result["commit"].split("+")[0]) == 40 and result["date"].endswith("Z")
    shutil.rmtree(tmp_path / "r")


INTEL = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)  Platinum 8480C\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_tile\n"
EPYC = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse avx avx2 fma\n\nprocessor\t: 1\nmodel name\t: other\n"


@pytest.mark.parametrize("text, expected", [
    (INTEL, {"cpu": "Intel(R) Xeon(R) Platinum 8480C", "vector": "AMX"}),
    (INTEL.replace(" amx_tile", ""), {"cpu": "Intel(R) Xeon(R) Platinum 8480C", "vector": "AVX-512 BF16"}),
    (INTEL.replace(" avx512_bf16 amx_tile", ""), {"cpu": "Intel(R) Xeon(R) Platinum 8480C", "vector": "AVX-512"}),
    (EPYC, {"cpu": "AMD EPYC 7B13", "vector": "AVX2"}),  # the first processor's entry
    ("flags\t: fpu sse\n", {}),
    ("", {}),
])
def test_cpu_model_names_the_cpu_and_its_widest_vector_unit(tmp_path, text, expected):
    (tmp_path / "cpuinfo").write_text(text)
    assert cpu_model(tmp_path / "cpuinfo") == expected
    machine = this_machine(tmp_path / "cpuinfo")
    assert {k: machine[k] for k in expected} == expected and machine["cores"] >= 1


def test_a_machine_without_cpuinfo_still_gives_its_cores(tmp_path):
    machine = this_machine(tmp_path / "missing")
    assert "cpu" not in machine and "vector" not in machine and machine["cores"] >= 1
