"""A GRPO step's generation batch split into passes: the split is the fewest equal passes that fit,
and a split step still samples, rewards and steps exactly as one unsplit step would (real trl on a
tiny Llama)."""

from __future__ import annotations

import pytest

from teamsrl_graph.common.training import grpo_config, grpo_passes


@pytest.mark.parametrize("completions, most, expected", [
    (32, 32, (32, 1)), (12, 32, (12, 1)), (64, 32, (32, 2)), (96, 32, (32, 3)),
    (48, 32, (24, 2)), (66, 32, (22, 3)), (33, 32, (11, 3)), (37, 32, (1, 37)), (8, 4, (4, 2)),
])
def test_the_fewest_equal_passes_that_fit(completions, most, expected):
    per_pass, passes = grpo_passes(completions, most)
    assert (per_pass, passes) == expected
    assert per_pass * passes == completions and per_pass <= most


def test_one_generation_batch_per_optimizer_step(tmp_path):
    args = grpo_config(tmp_path, steps=3, learning_rate=1e-3, prompts_per_step=16, num_generations=4,
                       max_completion_length=8, temperature=0.7, beta=0.0, bf16=False, seed=0, pass_size=32)
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (32, 2)
    assert args.generation_batch_size == 64 and args.steps_per_generation == 2


def test_a_split_step_samples_each_instruction_once_per_group(tiny_model, monkeypatch):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import teamsrl_graph.rlvr.trainer as trainer
    from teamsrl_graph.commands.pipeline import heldout_constrained
    from teamsrl_graph.rlvr import RLVRConfig, train_rlvr

    batches, reward = [], trainer.constraint_reward

    def constraint_reward(completions, constraints, prompts, **columns):
        batches.append([str(prompt) for prompt in prompts])
        return reward(completions, constraints, prompts=prompts, **columns)

    monkeypatch.setattr(trainer, "constraint_reward", constraint_reward)
    items = heldout_constrained(8, 0, tasks="seeds", split="train")
    config = RLVRConfig(steps=2, prompts_per_step=4, num_generations=2, pass_size=4, max_completion_length=6)
    _, history, steps = train_rlvr(items, config, AutoModelForCausalLM.from_pretrained(tiny_model),
                                   AutoTokenizer.from_pretrained(tiny_model))
    assert steps == len(history) == 2
    assert [len(batch) for batch in batches] == [8, 8]  # one batch of 4 instructions x 2 a step, in 2 passes
    assert all(len(set(batch)) == 4 for batch in batches)
    assert len({prompt for batch in batches for prompt in batch}) == 8  # each instruction in one step
