"""A resumed main job keeps its finished fine-tune: `pipeline.fine_tune(keep=True)` on a tiny Llama returns
the saved run when its run card names the same settings, records and dataset file, and trains again
when any of them differs or the saved run is incomplete."""

from __future__ import annotations

import json
import shutil

import pytest

from teamsrl_graph.commands.pipeline import fine_tune, trainer_config
from teamsrl_graph.common import training
from teamsrl_graph.common.files import write_jsonl
from test_rlvr_finetune import DATA


@pytest.fixture(scope="module", params=["sft", "rlvr"])
def finished(request, tmp_path_factory, tiny_model):
    """A finished fine-tune of each trainer in a run folder with its dataset file: (folder, settings, result)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(training.LOCAL_COPIES, "someone/tiny-llama", lambda: tiny_model)
        out = tmp_path_factory.mktemp(request.param)
        (out / "generate").mkdir()
        write_jsonl(out / "generate" / "dataset.jsonl", DATA)
        settings = {"seed": 0, "base": str(tiny_model), "trainer": request.param, "epochs": 1, "rl": (1, 2, 2)}
        result, _, _ = fine_tune(DATA, out, trainer_config(**settings), heldout=0.25)
    return out, settings, result


@pytest.fixture
def saved(finished, tmp_path):
    """`finished`, copied into a run folder of this test's own."""
    out, settings, result = finished
    shutil.copytree(out, tmp_path / "run")
    return tmp_path / "run", settings, result


@pytest.fixture
def trainings(monkeypatch):
    """The fine-tunes started from now on (each trainer replaced by one that only counts)."""
    import teamsrl_graph.rlvr.finetune as rlvr
    import teamsrl_graph.sft as sft

    started = []
    monkeypatch.setattr(sft, "finetune", lambda *a, **k: started.append("sft") or "trained")
    monkeypatch.setattr(rlvr, "finetune_rlvr", lambda *a, **k: started.append("rlvr") or "trained")
    return started


def test_the_same_run_resumed_keeps_its_fine_tune(saved, trainings):
    out, settings, first = saved
    kept, train, _ = fine_tune(DATA, out, trainer_config(**settings), heldout=0.25, keep=True)
    assert trainings == []
    assert kept.adapter_dir == out / "finetune" / "adapter" and kept.card == first.card and kept.smoothed == first.smoothed
    assert kept.trained_on(train) == first.trained_on(train) != []


@pytest.mark.parametrize("change", ["settings", "records", "dataset file", "no adapter", "damaged card", "not resumed"])
def test_anything_else_trains_again(saved, trainings, change):
    out, settings, _ = saved
    data, keep = DATA, True
    if change == "settings":
        settings = {**settings, "lr": 5e-4}
    elif change == "records":
        data = DATA[:-1]
    elif change == "dataset file":
        write_jsonl(out / "generate" / "dataset.jsonl", [*DATA, {"id": "later", "instruction": "x"}])
    elif change == "no adapter":
        (out / "finetune" / "adapter" / "adapter_model.safetensors").unlink()
    elif change == "damaged card":
        (out / "finetune" / "run_card.json").write_text(json.dumps([1, 2]))
    else:
        keep = False
    result, _, _ = fine_tune(data, out, trainer_config(**settings), heldout=0.25, keep=keep)
    assert result == "trained" and trainings == [settings["trainer"]]


def test_a_resumed_main_job_writes_no_result_file(tmp_path, capsys):
    from teamsrl_graph.cli import main

    code = main(["pipeline", "--out", str(tmp_path / "run"), "--resume", "--result", str(tmp_path / "result.json")])
    assert code == 2 and "field '--result'" in capsys.readouterr().err
    assert not (tmp_path / "result.json").exists() and not (tmp_path / "run").exists()
