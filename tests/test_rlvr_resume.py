"""An RLVR run stopped part way resumes from its latest checkpoint and ends exactly where one
uninterrupted run ends (real trl on a tiny Llama); a checkpoint folder of another run is refused."""

from __future__ import annotations

import pytest

from teamsrl_graph.common.errors import InputError
from teamsrl_graph.rlvr import RLVRConfig


class Killed(Exception):
    """The process dying part way through a run."""


@pytest.fixture(scope="module")
def items():
    from teamsrl_graph.commands.pipeline import heldout_constrained

    return heldout_constrained(8, 0, tasks="seeds", split="train")


def train(tiny_model, items, config, checkpoints=None):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from teamsrl_graph.rlvr import train_rlvr

    model, history, steps = train_rlvr(items, config, AutoModelForCausalLM.from_pretrained(tiny_model),
                                       AutoTokenizer.from_pretrained(tiny_model), checkpoints)
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}, history, steps


def test_a_stopped_run_resumes_from_its_latest_checkpoint(tiny_model, items, tmp_path, monkeypatch):
    import torch

    import teamsrl_graph.rlvr.trainer as trainer

    config = RLVRConfig(steps=4, prompts_per_step=2, num_generations=2, max_completion_length=6, save_every=2)
    whole, whole_history, _ = train(tiny_model, items, config)

    reward, steps_rewarded = trainer.constraint_reward, []

    def dies_in_step_4(completions, constraints, prompts, **columns):
        steps_rewarded.append(len(prompts))
        if len(steps_rewarded) == 4:
            raise Killed
        return reward(completions, constraints, prompts=prompts, **columns)

    monkeypatch.setattr(trainer, "constraint_reward", dies_in_step_4)
    folder = tmp_path / "checkpoints"
    with pytest.raises(Killed):
        train(tiny_model, items, config, folder)
    assert sorted(p.name for p in folder.glob("checkpoint-*")) == ["checkpoint-2"]  # step 3 was not saved

    steps_rewarded.clear()
    monkeypatch.setattr(trainer, "constraint_reward", lambda *a, **kw: steps_rewarded.append(1) or reward(*a, **kw))
    resumed, history, steps = train(tiny_model, items, config, folder)
    assert steps == 4 and len(steps_rewarded) == 2  # steps 3 and 4 only
    assert [h["reward"] for h in history] == pytest.approx([h["reward"] for h in whole_history])
    assert resumed.keys() == whole.keys() and resumed
    for name, weight in whole.items():
        torch.testing.assert_close(resumed[name], weight, msg=name)


@pytest.mark.parametrize("change, field", [
    ({"steps": 8}, "steps"), ({"learning_rate": 1e-4}, "learning_rate"), ({}, "items"),
])
def test_checkpoints_of_another_run_are_refused(items, tmp_path, change, field):
    from teamsrl_graph.rlvr.trainer import claim

    config = RLVRConfig(steps=4, prompts_per_step=2, num_generations=2)
    claim(tmp_path, items, config)
    claim(tmp_path, items, RLVRConfig(steps=4, prompts_per_step=2, num_generations=2, save_every=1))  # same run
    other = items if change else items[::-1]
    with pytest.raises(InputError, match="another") as error:
        claim(tmp_path, other, RLVRConfig(**{"steps": 4, "prompts_per_step": 2, "num_generations": 2, **change}))
    assert error.value.field == field and error.value.path == tmp_path / "settings.json"
