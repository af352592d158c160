"""Every command that writes a folder or file checks that place before its long work (sampling,
training, answering): an --out under a file is one error naming it, exit 2, and no model loads
(generate loads its models first, so that missing weights leave no run folder, then checks)."""

import pytest

from conftest import RECORDS
from teamsrl_graph.cli import main
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.common.files import make_folder, write_jsonl


def commands(tmp_path):
    data = write_jsonl(tmp_path / "dataset.jsonl", RECORDS)
    prefs = write_jsonl(tmp_path / "prefs.jsonl", [{"prompt": f"Say {w}.", "chosen": w, "rejected": "no"} for w in "abcd"])
    run = tmp_path / "run"
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text("{}")
    under = tmp_path / "file.txt" / "out"  # a file where a folder should be
    return {
        "finetune": ["finetune", "--data", str(data), "--out", str(under)],
        "finetune rlvr": ["finetune", "--data", str(data), "--out", str(under), "--trainer", "rlvr"],
        "hir": ["hir", "--out", str(under)],
        "pit prefs": ["pit", "prefs", "--data", str(data), "--out", str(under / "p.jsonl")],
        "pit train": ["pit", "train", "--preferences", str(prefs), "--out", str(under)],
        "eval": ["eval", "--run", str(run), "--out", str(under), "--judge", ""],
        "generate": ["generate", "--seeds", str(data), "--out", str(under), "--budget", "3"],
    }


@pytest.mark.parametrize("command", ["finetune", "finetune rlvr", "hir", "pit prefs", "pit train", "eval", "generate"])
def test_an_output_under_a_file_fails_before_any_model_loads(command, tmp_path, capsys, monkeypatch):
    from teamsrl_graph.models import local

    if command != "generate":
        monkeypatch.setattr(local, "load", lambda *a, **k: pytest.fail("a model was loaded"))  # every command's one way in
    (tmp_path / "file.txt").write_text("keep me")
    assert main(commands(tmp_path)[command]) == 2
    err = capsys.readouterr().err
    assert "file.txt" in err and ("cannot be written" in err or "is a file, not a folder" in err), err
    assert (tmp_path / "file.txt").read_text() == "keep me"


def test_make_folder_names_a_file_and_makes_the_parents(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder") as error:
        make_folder(tmp_path / "f", "out_dir")
    assert error.value.field == "out_dir"
    with pytest.raises(InputError, match=f"cannot be written: {tmp_path / 'f'} is a file, not a folder"):
        make_folder(tmp_path / "f" / "sub" / "deeper")
    made = make_folder(tmp_path / "a" / "b")
    assert made.is_dir() and list(made.iterdir()) == []  # the write probe leaves nothing
