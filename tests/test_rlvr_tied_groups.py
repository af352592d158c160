"""GRPO logs, per step, the share of its groups whose answers all scored alike (`tied_groups`): such a
group has no advantage and moves nothing, so the figure says how much of a step's sampling taught the
adapter. Real trl on a tiny Llama with the reward forced: the same score for a whole group, or a
different score for every answer."""

from __future__ import annotations

import pytest

from teamsrl_graph.rlvr import RLVRConfig


def scored_alike(completions, **columns):
    return [0.5] * len(completions)


def scored_apart(completions, **columns):
    return [float(i) for i in range(len(completions))]  # no two answers of a group alike


def scored_half(completions, **columns):
    """The first of every two groups (of two answers each) tied, the second apart."""
    return [1.0 if i % 4 == 3 else 0.0 for i in range(len(completions))]


@pytest.mark.parametrize("reward, tied", [(scored_alike, 1.0), (scored_apart, 0.0), (scored_half, 0.5)])
def test_the_share_of_groups_that_tied_each_step(tiny_model, monkeypatch, reward, tied):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import teamsrl_graph.rlvr.trainer as trainer
    from teamsrl_graph.commands.pipeline import heldout_constrained
    from teamsrl_graph.rlvr import train_rlvr

    monkeypatch.setattr(trainer, "constraint_reward", reward)
    items = heldout_constrained(4, 0, tasks="seeds", split="train")
    config = RLVRConfig(steps=2, prompts_per_step=2, num_generations=2, max_completion_length=4)
    _, history, steps = train_rlvr(items, config, AutoModelForCausalLM.from_pretrained(tiny_model),
                                   AutoTokenizer.from_pretrained(tiny_model))
    assert steps == 2 and [h["tied_groups"] for h in history] == [pytest.approx(tied)] * 2
