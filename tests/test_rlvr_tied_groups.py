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


def batch_of(advantages: list[float], tokens: list[int]) -> dict:
    """A scored generation batch as trl hands it on: one row per answer, `tokens` answer tokens each."""
    import torch

    width = max(tokens)
    return {"advantages": torch.tensor(advantages), "prompt_ids": [[7, 8]] * len(advantages),
            "completion_ids": torch.arange(len(advantages)).unsqueeze(1).repeat(1, width),
            "completion_mask": torch.tensor([[1] * n + [0] * (width - n) for n in tokens]),
            "num_items_in_batch": torch.tensor(sum(tokens)), "tool_mask": None}


@pytest.mark.parametrize("advantages, group, passes, kept", [
    ([0, 0, 1, -1], 2, 1, [2, 3]),                     # the tied group goes
    ([1, -1, 0, 0, 0, 0, -1, 1], 2, 2, [0, 1, 6, 7]),  # two groups kept split evenly in two passes
    ([1, -1, 0, 0, 0, 0, -1, 1], 2, 4, [0, 1, 6, 7]),
    ([1, -1, 0, 0, 0, 0, 0, 0], 2, 4, [0, 1, 2, 3]),   # one tied group stays: four passes need four rows
    ([1, -1, 0, 0, -1, 1, 0, 0], 2, 4, [0, 1, 4, 5]),
    ([1, 0, -1, 0, 0, 0, 0, 0, 0], 3, 2, [0, 1, 2, 3]),  # three rows kept, one tied row evens the passes
    ([0, 0, 0, 0], 2, 2, [0, 1]),                      # all tied: one row a pass, which moves nothing
    ([0, 1, -1, 0, 0, 0], 3, 1, [0, 1, 2]),            # an answer at its group's mean is not a tie
    ([1, -1, 1, -1], 2, 2, [0, 1, 2, 3]),              # nothing tied, nothing left out
])
def test_without_tied_keeps_the_groups_that_disagree(advantages, group, passes, kept):
    from teamsrl_graph.rlvr.ties import without_tied

    tokens = [3 + i for i in range(len(advantages))]
    out = without_tied(batch_of(advantages, tokens), group, passes)
    assert out["completion_ids"][:, 0].tolist() == kept and out["prompt_ids"] == [[7, 8]] * len(kept)
    assert out["advantages"].tolist() == [advantages[i] for i in kept] and len(kept) % passes == 0
    assert int(out["num_items_in_batch"]) == sum(tokens[i] for i in kept) and out["tool_mask"] is None


def test_rows_that_do_not_make_groups_are_refused():
    from teamsrl_graph.rlvr.ties import without_tied

    with pytest.raises(ValueError, match="groups of 2"):
        without_tied(batch_of([1, 0, -1], [2, 2, 2]), 2, 1)


def train(tiny_model, monkeypatch, reward, skip_tied, steps=2):
    """The LoRA weights after `steps` GRPO steps of 2 instructions x 2 answers with `reward`, and
    the rows each pass of the loss saw."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOTrainer

    import teamsrl_graph.rlvr.trainer as trainer
    from teamsrl_graph.commands.pipeline import heldout_constrained
    from teamsrl_graph.rlvr import train_rlvr

    seen, compute_loss = [], GRPOTrainer.compute_loss

    def counted(self, model, inputs, *args, **kwargs):
        seen.append(inputs["advantages"].shape[0])
        return compute_loss(self, model, inputs, *args, **kwargs)

    monkeypatch.setattr(GRPOTrainer, "compute_loss", counted)
    monkeypatch.setattr(trainer, "constraint_reward", reward)
    items = heldout_constrained(4, 0, tasks="seeds", split="train")
    config = RLVRConfig(steps=steps, prompts_per_step=2, num_generations=2, max_completion_length=4, pass_size=2,
                        skip_tied=skip_tied)
    model, history, taken = train_rlvr(items, config, AutoModelForCausalLM.from_pretrained(tiny_model),
                                       AutoTokenizer.from_pretrained(tiny_model))
    assert taken == steps
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}, seen, history


def test_a_step_leaves_its_tied_groups_out(tiny_model, monkeypatch):
    """Half the groups tie: each of a step's two passes sees one row, not two; the tie is still logged."""
    _, seen, history = train(tiny_model, monkeypatch, scored_half, skip_tied=True)
    assert seen == [1, 1, 1, 1] and [h["tied_groups"] for h in history] == [0.5, 0.5]
    _, seen, _ = train(tiny_model, monkeypatch, scored_half, skip_tied=False)
    assert seen == [2, 2, 2, 2]


def test_with_no_tie_it_trains_exactly_as_plain_grpo(tiny_model, monkeypatch):
    import torch

    plain, _, _ = train(tiny_model, monkeypatch, scored_apart, skip_tied=False)
    skipping, _, _ = train(tiny_model, monkeypatch, scored_apart, skip_tied=True)
    assert plain.keys() == skipping.keys() and all(torch.equal(plain[n], skipping[n]) for n in plain)
