"""Hugging Face outputs: TRL-format exports, seeds from datasets files, adapters that name their base
model by hub id, and the loss smoothing of the training plots."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import RECORDS
from teamsrl_graph.common import training
from teamsrl_graph.cli import main
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.dataio.export import to_dataset
from teamsrl_graph.common.plots import smooth

ROOT = Path(__file__).resolve().parents[1]

USER = {
    "r1": "Name the three primary colors of paint and give one everyday object for each.",
    "r2": "Summarize the text below in one sentence of at most twelve words.\n\n"
          "The meeting moved from Monday to Thursday at 3 pm.",
    "r3": "What is 7 times 8? Show the multiplication as repeated addition first.",
    "r4": "Give two synonyms for 'happy' and use each in a short sentence.",
}
ANSWER = {r["id"]: r["response"] for r in RECORDS}
UNCHECKED = {"constraints": [], "verification": None, "constraints_ok": None, "repaired": []}  # records without constraints
META = {
    "r1": {"seed": "Name three primary colors.", "evolution": ["concretize"], "eliminated": 0, "queries": 3,
           "response_ok": True, **UNCHECKED},
    "r2": {"seed": "Summarize the text.", "evolution": [], "eliminated": 0, "queries": 2, "response_ok": True, **UNCHECKED},
    "r3": {"seed": "What is 7 times 8?", "evolution": [], "eliminated": 0, "queries": 2, "response_ok": True, **UNCHECKED},
    "r4": {"seed": "Give a synonym for happy.", "evolution": [], "eliminated": 0, "queries": 2, "response_ok": True, **UNCHECKED},
}


def write_records(path: Path, records=RECORDS) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_messages_rows_are_exact():
    rows = to_dataset(RECORDS, "messages").to_list()
    assert rows == [{"id": i, "messages": [{"role": "user", "content": USER[i]}, {"role": "assistant", "content": ANSWER[i]}],
                     **META[i]} for i in ("r1", "r2", "r3", "r4")]


def test_prompt_completion_rows_are_exact():
    rows = to_dataset(RECORDS, "prompt-completion").to_list()
    assert rows == [{"id": i, "prompt": [{"role": "user", "content": USER[i]}],
                     "completion": [{"role": "assistant", "content": ANSWER[i]}], **META[i]} for i in ("r1", "r2", "r3", "r4")]


def test_alpaca_rows_are_exact():
    rows = to_dataset(RECORDS, "alpaca").to_list()
    inputs = {"r2": "The meeting moved from Monday to Thursday at 3 pm."}
    instructions = {r["id"]: r["instruction"] for r in RECORDS}
    assert rows == [{"id": i, "instruction": instructions[i], "input": inputs.get(i, ""), "output": ANSWER[i], **META[i]}
                    for i in ("r1", "r2", "r3", "r4")]


def test_the_evolution_summary_counts_accepted_and_eliminated_steps():
    steps = [{"op": "breadth", "candidate": "...", "accepted": False, "reason": "no_gain", "score": 0.0},
             {"op": "deepen", "candidate": "...", "accepted": True, "reason": "gained", "score": 0.8},
             {"op": "add_constraints", "candidate": "...", "accepted": True, "reason": "gained", "score": 1.0}]
    [row] = to_dataset([{**RECORDS[0], "path": steps, "queries": 7}], "alpaca").to_list()
    assert (row["evolution"], row["eliminated"], row["queries"]) == (["deepen", "add_constraints"], 1, 7)


def test_failed_answers_are_left_out_unless_asked_for():
    failed = {**RECORDS[4], "id": "r6", "response": "Bonjour. Buenos días.", "response_ok": False}
    records = RECORDS + [failed]
    assert [r["id"] for r in to_dataset(records).to_list()] == ["r1", "r2", "r3", "r4"]
    kept = to_dataset(records, keep_failed=True).to_list()
    assert [r["id"] for r in kept] == ["r1", "r2", "r3", "r4", "r6"]  # r5 has no answer at all
    assert kept[-1]["response_ok"] is False and kept[-1]["messages"][-1]["content"] == "Bonjour. Buenos días."


def test_cli_writes_a_dataset_that_loads(tmp_path, capsys):
    from datasets import load_from_disk

    data = write_records(tmp_path / "dataset.jsonl")
    for fmt, column in (("messages", "messages"), ("prompt-completion", "completion"), ("alpaca", "output")):
        out = tmp_path / fmt
        assert main(["export", "--data", str(data), "--format", fmt, "--out", str(out)]) == 0
        loaded = load_from_disk(str(out))
        assert loaded.num_rows == 4 and column in loaded.column_names and loaded[0]["id"] == "r1"
        assert loaded.to_list() == to_dataset(RECORDS, fmt).to_list()
    assert "4 rows" in capsys.readouterr().out
    assert main(["export", "--data", str(data), "--out", str(tmp_path / "messages"), "--overwrite"]) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


def test_cli_refuses_to_replace_a_folder_that_is_not_a_dataset(tmp_path, capsys):
    data = write_records(tmp_path / "dataset.jsonl")
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.json").write_text("{}")
    assert main(["export", "--data", str(data), "--out", str(run), "--overwrite"]) == 2
    assert "is a folder that is not a saved dataset" in capsys.readouterr().err and (run / "report.json").exists()


@pytest.mark.parametrize("out", ["dataset.jsonl/out.jsonl", "dataset.jsonl/sub/out"])
def test_cli_refuses_an_output_under_a_file_before_reading_the_data(out, tmp_path, capsys, monkeypatch):
    from teamsrl_graph.dataio import export

    data = write_records(tmp_path / "dataset.jsonl")
    monkeypatch.setattr(export, "to_dataset", lambda *a, **k: pytest.fail("the data was read"))
    assert main(["export", "--data", str(data), "--out", str(tmp_path / out)]) == 2
    assert "dataset.jsonl is a file, not a folder" in capsys.readouterr().err and data.is_file()


@pytest.mark.parametrize("name, method", [("out.jsonl", "to_json"), ("out.parquet", "to_parquet"), ("out", "save_to_disk")])
def test_a_write_that_fails_is_one_line_naming_the_output_and_leaves_nothing(name, method, tmp_path, capsys, monkeypatch):
    from datasets import Dataset

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    data = write_records(tmp_path / "dataset.jsonl")
    monkeypatch.setattr(Dataset, method, full)
    assert main(["export", "--data", str(data), "--out", str(tmp_path / "new" / name)]) == 2
    assert f"{name} field 'out': cannot be written (No space left on device)" in capsys.readouterr().err
    assert os.listdir(tmp_path / "new") == []  # no file, no temporary name


@pytest.mark.parametrize("line, expected", [
    ('{"id": "x", "instruction": "Say hi."}', "dataset.jsonl:3 field 'response': missing or not a string"),
    ('{"id": "x", "instruction": "Say hi.", "response": "Hi",}', "dataset.jsonl:3: bad JSON"),
])
def test_bad_records_name_file_line_and_field(tmp_path, capsys, line, expected):
    data = tmp_path / "dataset.jsonl"
    data.write_text(json.dumps(RECORDS[0]) + "\n\n" + line + "\n", encoding="utf-8")  # a blank line 2
    assert main(["export", "--data", str(data), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("teamsrl export: error: ") and expected in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def export_process(tmp_path, *extra, **env):
    data = write_records(tmp_path / "dataset.jsonl")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    environ.update(PYTHONPATH=str(ROOT), HF_HOME=str(tmp_path / "hf"), **env)  # HF_HOME: no saved token
    return subprocess.run([sys.executable, "-m", "teamsrl_graph.cli", "export", "--data", str(data), *extra],
                          env=environ, capture_output=True, text=True, timeout=120)


def test_push_without_a_token_fails_before_contacting_anything(tmp_path):
    done = export_process(tmp_path, "--push-to-hub", "someone/data", HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("teamsrl export: error: no Hugging Face token")


def test_push_without_network_is_a_one_line_error(tmp_path):
    out = tmp_path / "out"
    done = export_process(tmp_path, "--out", str(out), "--push-to-hub", "someone/data", "--private",
                          HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}", HF_TOKEN="hf_not_a_real_token")
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("teamsrl export: error: could not push to someone/data: ")
    assert (out / "dataset_info.json").is_file()  # saved before the push was tried


def test_export_needs_somewhere_to_go(tmp_path, capsys):
    assert main(["export", "--data", str(write_records(tmp_path / "d.jsonl"))]) == 2
    assert "give --out, --push-to-hub or both" in capsys.readouterr().err


# seeds from datasets files


def test_seeds_from_parquet_csv_json_and_a_saved_folder(tmp_path):
    from datasets import Dataset

    from teamsrl_graph.dataio.dataset_seeds import seeds_from_dataset
    from teamsrl_graph.dataio.seeds import Seed

    table = Dataset.from_list([{"prompt": "Name a fruit.", "context": ""},
                               {"prompt": "Summarize the text.", "context": "It rained all day."}])
    table.to_parquet(str(tmp_path / "s.parquet"))
    table.to_csv(str(tmp_path / "s.csv"), index=False)
    table.to_json(str(tmp_path / "s.jsonl"))
    table.save_to_disk(str(tmp_path / "saved"))
    expected = [Seed("Name a fruit.", "", 1), Seed("Summarize the text.", "It rained all day.", 2)]
    for name in ("s.parquet", "s.csv", "s.jsonl", "saved"):
        assert seeds_from_dataset(tmp_path / name, "prompt", "context") == expected, name
    assert [s.input for s in seeds_from_dataset(tmp_path / "s.parquet", "prompt")] == ["", ""]


def test_dataset_seed_errors_name_file_row_and_column(tmp_path):
    from datasets import Dataset

    from teamsrl_graph.dataio.dataset_seeds import seeds_from_dataset

    path = tmp_path / "s.parquet"
    Dataset.from_list([{"prompt": "Name a fruit.", "n": 1}, {"prompt": "  ", "n": 2}]).to_parquet(str(path))
    with pytest.raises(InputError, match=r"s\.parquet:2 field 'prompt': empty instruction"):
        seeds_from_dataset(path, "prompt")
    with pytest.raises(InputError, match=r"s\.parquet field 'instruction': no such column; the dataset has prompt, n"):
        seeds_from_dataset(path)
    with pytest.raises(InputError, match=r"s\.parquet:1 field 'n': must be text, got int"):
        seeds_from_dataset(path, "prompt", "n")
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match=r"bad\.csv"):
        seeds_from_dataset(tmp_path / "bad.csv")


# adapters name their base model by hub id


def test_hub_ids_resolve_to_local_copies(tmp_path, tiny_model, monkeypatch):
    from teamsrl_graph.models import local

    assert training.base_folder(local.HUB_ID) == local.converted_path()
    assert training.base_id(local.converted_path()) == local.HUB_ID
    assert training.base_id(tiny_model) == str(Path(tiny_model).resolve())  # no hub id known: the folder
    monkeypatch.setitem(training.LOCAL_COPIES, "someone/tiny-llama", lambda: tiny_model)
    assert training.base_id(tiny_model) == "someone/tiny-llama"
    assert training.base_folder("someone/tiny-llama") == tiny_model
    (tmp_path / "config.json").write_text(json.dumps({"_name_or_path": "someone/other-model"}))
    assert training.base_id(tmp_path) == "someone/other-model"  # a config that names its hub id
    with pytest.raises(InputError, match="no config.json"):
        training.base_folder("nobody/not-downloaded")  # looked up in the cache only, never downloaded


def test_a_saved_adapter_names_the_hub_id_and_loads_back(tmp_path, tiny_model, monkeypatch, recwarn):
    from teamsrl_graph.models import local
    from teamsrl_graph.sft import SFTRunConfig, finetune

    monkeypatch.setitem(training.LOCAL_COPIES, "someone/tiny-llama", lambda: tiny_model)
    result = finetune(RECORDS, tmp_path / "ft", SFTRunConfig(base=str(tiny_model), epochs=1, batch_size=2, max_length=64))
    config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "someone/tiny-llama"
    assert "someone/tiny-llama" in (result.adapter_dir / "README.md").read_text()
    assert str(tiny_model) not in (result.adapter_dir / "README.md").read_text()
    card = json.loads((tmp_path / "ft" / "run_card.json").read_text())
    assert card["base"] == "someone/tiny-llama"
    assert card["smoothed_losses"] == smooth(card["losses"]) and card["loss"] == {
        "first": card["smoothed_losses"][0], "last": card["smoothed_losses"][-1]}
    assert local.adapter_base(result.adapter_dir) == tiny_model  # the adapter finds this machine's copy
    assert not [w for w in recwarn if "someone/tiny-llama" in str(w.message)]  # the hub was never asked


def test_report_to_reaches_trl(tmp_path):
    from teamsrl_graph.sft import SFTRunConfig

    assert training.sft_config(SFTRunConfig(), tmp_path, bf16=False).report_to == []  # "none": no tracker
    assert training.sft_config(SFTRunConfig(report_to="tensorboard"), tmp_path, bf16=False).report_to == ["tensorboard"]


def test_finetune_takes_report_to():
    from teamsrl_graph.cli import build_parser

    args = build_parser().parse_args(["finetune", "--data", "d.jsonl", "--out", "o", "--report-to", "tensorboard"])
    assert args.report_to == "tensorboard"
    assert build_parser().parse_args(["finetune", "--data", "d.jsonl", "--out", "o"]).report_to == "none"


# smoothing


def test_smoothing_is_a_trailing_mean():
    assert smooth([4.0, 2.0, 6.0, 0.0, 8.0], window=2) == [4.0, 3.0, 4.0, 3.0, 4.0]
    assert smooth([4.0, 2.0, 6.0, 0.0, 8.0], window=3) == [4.0, 3.0, 4.0, 8 / 3, 14 / 3]
    assert smooth([1.0, 3.0], window=1) == [1.0, 3.0]
    assert smooth(list(map(float, range(20)))) == [0.0, 0.5, 1.0, 1.5] + [i - 1.5 for i in range(4, 20)]  # window 4
    assert smooth([]) == []
