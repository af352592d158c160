"""DP-SGD fine-tuning: per-conversation clipping, the accountant's round trip, the trainer's step."""

from __future__ import annotations

import pytest
import torch

from teamsrl_graph.common.errors import InputError
from teamsrl_graph.sft import SFTRunConfig, finetune
from teamsrl_graph.sft.private import clipped_sum, noise_multiplier, plan, spent

from conftest import RECORDS


@pytest.mark.parametrize("norms, clip, expected", [
    ([3.0, 0.5], 1.0, 1.0 + 0.5),  # the first is scaled down to the bound, the second is kept
    ([3.0, 4.0], 2.0, 2.0 + 2.0),  # both scaled down
    ([0.1, 0.2], 5.0, 0.1 + 0.2),  # neither touched
])
def test_clipped_sum_bounds_each_example(norms, clip, expected):
    direction = torch.tensor([0.6, 0.8])  # unit norm, split over two tensors below
    examples = [[direction[:1] * n, direction[1:] * n] for n in norms]
    total = clipped_sum(examples, clip)
    assert float(torch.sqrt(sum(t.pow(2).sum() for t in total))) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("epsilon", [0.5, 2.0, 8.0])
def test_noise_multiplier_meets_its_epsilon(epsilon):
    noise = noise_multiplier(epsilon, 1e-3, sample_rate=0.15, steps=21)
    assert spent(noise, 1e-3, 0.15, 21) == pytest.approx(epsilon, rel=0.05)  # the smallest noise that fits
    assert spent(noise, 1e-3, 0.15, 21) <= epsilon * 1.01
    assert spent(noise, 1e-3, 0.15, 10) < spent(noise, 1e-3, 0.15, 21)  # stopping early spends less
    assert noise_multiplier(epsilon / 2, 1e-3, 0.15, 21) > noise


def test_plan_and_bad_settings():
    settings = plan(records=27, batch_size=4, epochs=3, epsilon=4.0, delta=None)
    assert settings["delta"] == pytest.approx(1 / 270) and settings["max_steps"] == 7 * 3
    assert settings["sample_rate"] == pytest.approx(4 / 27) and settings["noise_multiplier"] > 0.5
    with pytest.raises(InputError, match="epsilon"):
        plan(records=27, batch_size=4, epochs=3, epsilon=-1.0, delta=None)
    with pytest.raises(InputError, match="dp_clip"):
        finetune(RECORDS, "unused", SFTRunConfig(dp_epsilon=4.0, dp_clip=0.0))


def _trainer(tiny_model, tmp_path, **private):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from teamsrl_graph.common.lora import LoraSettings
    from teamsrl_graph.sft import data as sft_data
    from teamsrl_graph.sft.private import PrivateSFTTrainer
    from teamsrl_graph.common.training import prompt_completion, sft_config

    config = SFTRunConfig(base=str(tiny_model), batch_size=1, dp_epsilon=1.0, lora=LoraSettings(dropout=0.0))
    conversations = sft_data.to_conversations(RECORDS)
    return PrivateSFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model),
        args=sft_config(config, tmp_path, bf16=False),
        train_dataset=prompt_completion(conversations),
        processing_class=AutoTokenizer.from_pretrained(tiny_model),
        peft_config=config.lora.peft_config(),
        **private,
    )


def _grads(model):
    return [p.grad.clone() for p in model.parameters() if p.requires_grad]


def test_private_step_without_clipping_or_noise_is_the_plain_step(tiny_model, tmp_path):
    from trl import SFTTrainer

    trainer = _trainer(tiny_model, tmp_path, noise=0.0, clip=1e9, expected_batch=1)
    batch = next(iter(trainer.get_train_dataloader()))  # one conversation
    trainer.training_step(trainer.model, batch)
    private = _grads(trainer.model)
    trainer.model.zero_grad(set_to_none=True)
    trainer.current_gradient_accumulation_steps = 1  # set by the training loop otherwise
    SFTTrainer.training_step(trainer, trainer.model, batch)
    plain = _grads(trainer.model)
    assert any(float(g.abs().sum()) > 0 for g in plain)
    for a, b in zip(private, plain):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-7)


def test_private_step_is_clipped_and_noisy(tiny_model, tmp_path):
    clip = 1e-4
    trainer = _trainer(tiny_model, tmp_path, noise=0.0, clip=clip, expected_batch=1)
    batch = next(iter(trainer.get_train_dataloader()))
    trainer.training_step(trainer.model, batch)
    norm = float(torch.sqrt(sum(g.pow(2).sum() for g in _grads(trainer.model))))
    assert norm == pytest.approx(clip, rel=1e-3)  # the conversation's gradient is far above the bound

    noisy = _trainer(tiny_model, tmp_path, noise=1.0, clip=clip, expected_batch=1)
    noisy.training_step(noisy.model, batch)
    grads = _grads(noisy.model)
    size = sum(g.numel() for g in grads)
    noisy_norm = float(torch.sqrt(sum(g.pow(2).sum() for g in grads)))
    assert noisy_norm == pytest.approx(clip * size ** 0.5, rel=0.1)  # noise of std noise * clip per coordinate


def test_private_finetune_records_its_privacy(tiny_model, tmp_path):
    config = SFTRunConfig(base=str(tiny_model), epochs=2, batch_size=2, learning_rate=1e-2, validation_fraction=0,
                          dp_epsilon=4.0)
    result = finetune(RECORDS, tmp_path, config)
    private = result.card["differential_privacy"]
    assert result.card["padding_free"] is False  # one conversation per row
    assert private["steps"] == result.card["steps"] == 4  # 4 usable records / batch 2, 2 epochs
    assert private["noise_multiplier"] > 0 and 0 < private["epsilon_spent"] <= 4.0 * 1.01
    assert private["delta"] == pytest.approx(1 / 40)
    assert finetune(RECORDS, tmp_path / "plain", SFTRunConfig(base=str(tiny_model), epochs=1, batch_size=2,
                                                              validation_fraction=0)).card["differential_privacy"] is None


def test_cli_private_finetune_and_a_bad_epsilon(tiny_model, tmp_path, capsys):
    import json

    from teamsrl_graph.cli import main
    from teamsrl_graph.common.files import write_jsonl

    data = write_jsonl(tmp_path / "dataset.jsonl", RECORDS)
    args = ["finetune", "--data", str(data), "--base", str(tiny_model), "--epochs", "1", "--heldout", "0.25"]
    assert main(args + ["--out", str(tmp_path / "run"), "--dp-epsilon", "2", "--dp-clip", "0.5"]) == 0
    assert "DP-SGD: epsilon" in capsys.readouterr().out
    card = json.loads((tmp_path / "run" / "run_card.json").read_text())
    assert card["config"]["dp_clip"] == 0.5 and card["differential_privacy"]["epsilon"] == 2.0
    assert main(args + ["--out", str(tmp_path / "bad"), "--dp-epsilon", "-1"]) == 2
    assert "epsilon" in capsys.readouterr().err and not (tmp_path / "bad" / "adapter").exists()
