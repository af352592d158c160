"""Early stopping of the LoRA fine-tune: when it stops and which adapter it keeps (a table over
validation-loss sequences), that the kept adapter is the best evaluation's, and that a one-epoch run
evaluates part way when asked (a real trl run on a tiny Llama built from a config)."""

from __future__ import annotations

import pytest
from transformers import TrainerControl, TrainerState

from teamsrl_graph.common.errors import InputError
from teamsrl_graph.sft import SFTRunConfig, finetune
from teamsrl_graph.sft.early_stopping import KeepBest

from conftest import RECORDS


def peft_model(folder):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    return get_peft_model(AutoModelForCausalLM.from_pretrained(folder), LoraConfig(r=2, target_modules=["q_proj"]))


def evaluate(stopper, model, step: int, loss: float) -> TrainerControl:
    control = TrainerControl()
    stopper.on_evaluate(None, TrainerState(epoch=step / 4, global_step=step), control, {"eval_loss": loss}, model)
    return control


@pytest.mark.parametrize("losses, patience, stops_after, best", [
    ([3.0, 2.0, 1.0], 1, None, 2),  # always better: never stops, keeps the last
    ([3.0, 2.0, 2.5], 1, 3, 1),  # one worse evaluation stops it at patience 1
    ([3.0, 3.5, 2.0, 2.1], 2, None, 2),  # one worse, then better again: the wait starts over
    ([3.0, 3.5, 3.2], 2, 3, 0),  # two without a better loss at patience 2
    ([2.0, 2.0], 1, 2, 0),  # an equal loss is no improvement
])
def test_when_it_stops_and_what_it_keeps(tiny_model, losses, patience, stops_after, best):
    import torch

    model, stopper = peft_model(tiny_model), KeepBest(patience)
    weights = []
    for i, loss in enumerate(losses):
        with torch.no_grad():  # a different adapter at every evaluation
            for name, p in model.named_parameters():
                if "lora_B" in name:
                    p.fill_(float(i + 1))
        weights.append(i + 1)
        control = evaluate(stopper, model, i + 1, loss)
        if control.should_training_stop:
            break
    assert len(weights) == (stops_after or len(losses))
    assert control.should_training_stop == (stops_after is not None)
    assert (stopper.best_step, stopper.best) == (best + 1, losses[best])
    assert [h["step"] for h in stopper.history] == list(range(1, len(weights) + 1))
    stopper.restore(model)
    kept = {p.flatten()[0].item() for name, p in model.named_parameters() if "lora_B" in name}
    assert kept == {float(weights[best])}  # the best evaluation's adapter, not the last one's


def records(n: int) -> list[dict]:
    usable = [r for r in RECORDS if r["response_ok"]]
    return [{**usable[i % len(usable)], "id": f"r{i}", "instruction": f"{usable[i % len(usable)]['instruction']} ({i})"}
            for i in range(n)]


@pytest.mark.parametrize("per_epoch, steps", [(1, [6]), (3, [2, 4, 6]), (4, [2, 4, 6])])
def test_a_one_epoch_run_evaluates_part_way_when_asked(tiny_model, tmp_path, per_epoch, steps):
    """16 records, a quarter for validation: 12 trained on, 6 steps of 2. One evaluation per epoch
    comes only at the end, where nothing is left to stop; three or four come every second step
    (a share of the steps, rounded up), the last step included."""
    config = SFTRunConfig(base=str(tiny_model), epochs=1, batch_size=2, learning_rate=1e-3, validation_fraction=0.25,
                          evaluations_per_epoch=per_epoch, patience=10)
    tuned = finetune(records(16), tmp_path, config)
    history = tuned.card["validation"]["history"]
    assert tuned.card["steps"] == 6 and len(tuned.card["validation_ids"]) == 4
    assert [h["step"] for h in history] == steps and all(h["epoch"] <= 1.0 for h in history)
    best = min(history, key=lambda h: h["validation_loss"])
    assert (tuned.card["validation"]["best_step"], tuned.card["validation"]["best_loss"]) == (best["step"], best["validation_loss"])


@pytest.mark.parametrize("field, value", [("evaluations_per_epoch", 0), ("patience", 0), ("evaluations_per_epoch", 1.5)])
def test_bad_stopping_settings_name_their_field(tmp_path, field, value):
    with pytest.raises(InputError, match=field):
        finetune(records(8), tmp_path / "out", SFTRunConfig(**{field: value}))
    assert not (tmp_path / "out" / "adapter").exists()
