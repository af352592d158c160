"""Settings no trainer can run with (a rank of 0, a negative learning rate, ...) are refused as an
InputError naming the field, before any model loads, from Python and from the command line."""

from __future__ import annotations

import pytest

from conftest import RECORDS
from teamsrl_graph.common.errors import InputError
from teamsrl_graph.common.lora import LoraSettings
from teamsrl_graph.rlvr.config import RLVRConfig
from teamsrl_graph.sft.config import SFTRunConfig


@pytest.fixture(autouse=True)
def no_model(monkeypatch):
    from teamsrl_graph.models import local

    monkeypatch.setattr(local, "load", lambda *a, **k: pytest.fail("a model was loaded"))


@pytest.mark.parametrize("settings, field", [
    ({"r": 0}, "lora.r"), ({"r": 2.5}, "lora.r"), ({"r": True}, "lora.r"), ({"alpha": 0}, "lora.alpha"),
    ({"dropout": 1.0}, "lora.dropout"), ({"dropout": -0.1}, "lora.dropout"), ({"target_modules": []}, "lora.target_modules"),
])
def test_adapter_settings(settings, field):
    with pytest.raises(InputError) as error:
        LoraSettings(**settings)
    assert error.value.field == field


@pytest.mark.parametrize("settings, field", [
    ({"learning_rate": -1.0}, "learning_rate"), ({"learning_rate": 0}, "learning_rate"), ({"epochs": 0}, "epochs"),
    ({"batch_size": 0}, "batch_size"), ({"max_length": 0}, "max_length"), ({"gradient_accumulation_steps": 0},
    "gradient_accumulation_steps"), ({"validation_fraction": 1.0}, "validation_fraction"), ({"patience": 0}, "patience"),
    # DP-SGD's own settings are checked with DP-SGD off too, so a mistyped one is not silently unused
    ({"dp_clip": 0.0}, "dp_clip"), ({"dp_delta": 1.0}, "dp_delta"), ({"dp_delta": 0}, "dp_delta"),
    ({"dp_delta": "1e-5"}, "dp_delta"), ({"dp_epsilon": -1.0}, "dp_epsilon"),
])
def test_sft_settings(settings, field, tmp_path):
    from teamsrl_graph.sft.trainer import finetune

    with pytest.raises(InputError) as error:
        finetune(RECORDS, tmp_path / "out", SFTRunConfig(**settings))
    assert error.value.field == field and not (tmp_path / "out").exists()


@pytest.mark.parametrize("settings, field", [
    ({"learning_rate": -1e-3}, "learning_rate"), ({"temperature": 0}, "temperature"),
    ({"max_completion_length": 0}, "max_completion_length"), ({"kl_beta": -0.1}, "kl_beta"), ({"steps": 0}, "steps"),
])
def test_rlvr_settings(settings, field):
    with pytest.raises(InputError) as error:
        RLVRConfig(**settings)
    assert error.value.field == field


@pytest.mark.parametrize("flags, said", [
    (["--lr", "-1"], "field 'learning_rate'"), (["--r", "0"], "field 'lora.r'"),
    (["--dropout", "1"], "field 'lora.dropout'"), (["--trainer", "rlvr", "--lr", "0"], "field 'learning_rate'"),
    (["--lr", "inf"], "field 'learning_rate'"), (["--epochs", "inf"], "field 'epochs'"),  # a run that never ends
    (["--lr", "nan"], "field 'learning_rate'"), (["--trainer", "rlvr", "--lr", "inf"], "field 'learning_rate'"),
    (["--dp-delta", "5"], "field 'dp_delta'"), (["--dp-clip", "-1"], "field 'dp_clip'"),
])
def test_the_finetune_command_says_which(flags, said, tmp_path, capsys):
    from teamsrl_graph.cli import main
    from teamsrl_graph.common.files import write_jsonl

    data = write_jsonl(tmp_path / "dataset.jsonl", RECORDS)
    assert main(["finetune", "--data", str(data), "--out", str(tmp_path / "run"), *flags]) == 2
    assert said in capsys.readouterr().err and not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags, said", [
    (["--lr", "-1"], "field 'learning_rate'"), (["--epochs", "0"], "field 'epochs'"),
    (["--dp-epsilon", "-2"], "field 'dp_epsilon'"), (["--trainer", "rlvr", "--rl-samples", "1"], "field 'num_generations'"),
    (["--trainer", "rlvr", "--dp-epsilon", "8"], "field '--dp-epsilon'"), (["--heldout", "1"], "field '--heldout'"),
    (["--constrained", "-1"], "field '--constrained'"), (["--ifbench", "-5"], "field 'ifbench'"),
    (["--judge-pairs", "-1"], "field 'judge_pairs'"), (["--answer-tokens", "0"], "field '--answer-tokens'"),
])
def test_the_main_job_refuses_them_before_it_generates(flags, said, tmp_path, capsys, monkeypatch):
    from teamsrl_graph.cli import main
    from teamsrl_graph.commands import generate

    monkeypatch.setattr(generate, "produce", lambda *a, **k: pytest.fail("the main job generated"))
    assert main(["pipeline", "--out", str(tmp_path / "run"), "--budget", "3", *flags]) == 2
    assert said in capsys.readouterr().err and not (tmp_path / "run").exists()


@pytest.mark.parametrize("settings, field", [
    ({"samples": 0}, "samples"), ({"rounds": 0}, "rounds"), ({"learning_rate": -1.0}, "learning_rate"),
    ({"label_smoothing": 1.0}, "label_smoothing"), ({"contrastive_weight": -1.0}, "contrastive_weight"),
    ({"temperature": 0}, "temperature"), ({"heldout_fraction": 1.0}, "heldout_fraction"),
])
def test_hir_settings(settings, field):
    from teamsrl_graph.hir.config import HIRConfig

    with pytest.raises(InputError) as error:
        HIRConfig(**settings)
    assert error.value.field == field


@pytest.mark.parametrize("settings, field", [
    ({"num_generations": 1}, "num_generations"), ({"rl_learning_rate": 0}, "rl_learning_rate"),
    ({"rl_steps": (1, -1)}, "rl_steps"), ({"rl_steps": (1,)}, "rl_steps"), ({"sft_epochs": 0}, "sft_epochs"),
    ({"kl_beta": -0.5}, "kl_beta"), ({"max_completion_length": 0}, "max_completion_length"),
    ({"sft_steps": 0}, "sft_steps"), ({"sft_steps": True}, "sft_steps"), ({"sft_learning_rate": float("inf")}, "sft_learning_rate"),
])
def test_pit_settings(settings, field):
    from teamsrl_graph.pit.config import PITConfig

    with pytest.raises(InputError) as error:
        PITConfig(**settings)
    assert error.value.field == field


@pytest.mark.parametrize("flags, said", [
    (["--samples", "0"], "field 'samples'"), (["--rounds", "0"], "field 'rounds'"), (["--lr", "-1"], "field 'learning_rate'"),
])
def test_the_hir_command_says_which(flags, said, tmp_path, capsys):
    from teamsrl_graph.cli import main

    assert main(["hir", "--out", str(tmp_path / "run"), *flags]) == 2
    assert said in capsys.readouterr().err and not (tmp_path / "run").exists()


@pytest.mark.parametrize("settings, field", [
    ({"judge_pairs": -1}, "judge_pairs"), ({"max_new_tokens": 0}, "max_new_tokens"), ({"ifbench": -2}, "ifbench"),
    ({"answer_tokens": 0}, "answer_tokens"), ({"batch_size": 0}, "batch_size"), ({"loss_dtype": "float16"}, "loss_dtype"),
])
def test_eval_settings(settings, field):
    from teamsrl_graph.evaluation import EvalConfig

    with pytest.raises(InputError) as error:
        EvalConfig(**settings)
    assert error.value.field == field


@pytest.mark.parametrize("flags, adapter_config, said", [
    (["--judge-pairs", "-1"], "{}", "field 'judge_pairs'"),
    (["--answer-tokens", "0"], "{}", "field 'answer_tokens'"),
    (["--ifbench-tokens", "0"], "{}", "field 'ifbench_tokens'"),
    ([], "{", "adapter_config.json:1: bad JSON"),
    ([], "[]", "adapter_config.json: expected a JSON object, got list"),
])
def test_the_eval_command_says_which_before_any_model_loads(flags, adapter_config, said, tmp_path, capsys, monkeypatch):
    from teamsrl_graph.cli import main
    from teamsrl_graph.common.files import write_jsonl
    from teamsrl_graph.models import local

    monkeypatch.setattr(local, "load", lambda *a, **k: pytest.fail("a model was loaded"))
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text(adapter_config)
    write_jsonl(tmp_path / "train.jsonl", RECORDS[:2])
    write_jsonl(tmp_path / "heldout.jsonl", RECORDS[2:])
    assert main(["eval", "--run", str(tmp_path), "--judge", "", *flags]) == 2
    assert said in capsys.readouterr().err and not (tmp_path / "eval.json").exists()


@pytest.mark.parametrize("target_modules, kept", [("q_proj, v_proj", ["q_proj", "v_proj"]), (("k_proj",), ("k_proj",))])
def test_layer_names_may_be_one_comma_separated_string(target_modules, kept):
    assert LoraSettings(target_modules=target_modules).target_modules == kept


@pytest.mark.parametrize("target_modules", [5, [1, 2], " , "])
def test_layer_names_that_are_not_names_are_refused(target_modules):
    with pytest.raises(InputError) as error:
        LoraSettings(target_modules=target_modules)
    assert error.value.field == "lora.target_modules"


@pytest.mark.parametrize("config_class", [SFTRunConfig, RLVRConfig])
def test_adapter_settings_may_be_a_dict_and_are_checked_alike(config_class):
    assert config_class(lora={"r": 4}).lora == LoraSettings(r=4)
    for lora, field in (({"r": 0}, "lora.r"), ({"rr": 4}, "lora.rr"), ("r=4", "lora")):
        with pytest.raises(InputError) as error:
            config_class(lora=lora)
        assert error.value.field == field


def trainer_calls():
    from teamsrl_graph.evaluation import evaluate
    from teamsrl_graph.rlvr.finetune import finetune_rlvr
    from teamsrl_graph.sft.trainer import finetune

    return {"sft": lambda data, out, config: finetune(data, out, config),
            "rlvr": lambda data, out, config: finetune_rlvr(data, out, config),
            "eval": lambda data, out, config: evaluate(out / "adapter", data, data, out, config)}


@pytest.mark.parametrize("trainer", ["sft", "rlvr"])
@pytest.mark.parametrize("data, field, message", [
    (5, "records", "must be a list of records"),
    ({"instruction": "x"}, "records", "must be a list of records"),
])
def test_records_that_are_not_a_list_are_refused(trainer, data, field, message, tmp_path):
    with pytest.raises(InputError, match=message) as error:
        trainer_calls()[trainer](data, tmp_path / "o", None)
    assert error.value.field == field and not (tmp_path / "o").exists()


@pytest.mark.parametrize("trainer, config, field, message", [
    ("sft", {"epochs": 0}, "epochs", "a number above 0"),
    ("sft", {"epoch": 1}, "epoch", "did you mean 'epochs'"),
    ("rlvr", {"steps": 0}, "steps", "a whole number of at least 1"),
    ("rlvr", "steps=3", "config", "must be a RLVRConfig or a dict of its settings, got str"),
    ("eval", {"batch_size": 0}, "batch_size", "a whole number of at least 1"),
    ("eval", {"ifbenc": 0}, "ifbenc", "did you mean 'ifbench'"),
])
def test_a_config_may_be_a_dict_of_its_settings_checked_alike(trainer, config, field, message, tmp_path):
    with pytest.raises(InputError, match=message) as error:
        trainer_calls()[trainer](RECORDS, tmp_path / "o", config)
    assert error.value.field == field and not (tmp_path / "o").exists()


@pytest.mark.parametrize("trainer, config", [("sft", {"epochs": 1, "lora": {"r": 4}}), ("rlvr", {"steps": 1})])
def test_a_good_dict_of_settings_goes_on_to_the_model(trainer, config, tmp_path):
    from test_export_formats import CONSTRAINED

    with pytest.raises(pytest.fail.Exception, match="a model was loaded"):
        trainer_calls()[trainer](RECORDS + CONSTRAINED, tmp_path / "o", config)


@pytest.mark.parametrize("trainer, config, field", [
    ("hir.trainer.HIRTrainer", {"sample": 2}, "sample"),
    ("hir.trainer.HIRTrainer", {"rounds": 0}, "rounds"),
    ("pit.trainer.PITTrainer", {"kl_beta": -1}, "kl_beta"),
    ("pit.trainer.PITTrainer", [1], "config"),
])
def test_the_hir_and_pit_trainers_take_a_dict_of_settings_checked_alike(trainer, config, field):
    import importlib

    module, name = trainer.rsplit(".", 1)
    with pytest.raises(InputError) as error:
        getattr(importlib.import_module(f"teamsrl_graph.{module}"), name)(config=config)
    assert error.value.field == field


@pytest.mark.parametrize("flags, skip_tied", [(["--rl-skip-tied"], True), ([], False)])
def test_the_main_job_hands_rl_skip_tied_to_its_rlvr_config(flags, skip_tied, tmp_path, monkeypatch):
    from teamsrl_graph.cli import main
    from teamsrl_graph.commands import generate, pipeline

    made, config_of = [], pipeline.trainer_config

    def stop_after_config(**settings):
        made.append(config_of(**settings))
        raise InputError("stopped once the config was made", field="test")

    monkeypatch.setattr(pipeline, "trainer_config", stop_after_config)
    monkeypatch.setattr(generate, "produce", lambda *a, **k: pytest.fail("the main job generated"))
    assert main(["pipeline", "--out", str(tmp_path / "run"), "--trainer", "rlvr", *flags]) == 2
    assert isinstance(made[0], RLVRConfig) and made[0].skip_tied is skip_tied
