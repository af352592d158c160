"""Tied groups left out of a GRPO step.

A group whose answers all scored alike has no advantage: it moves the adapter nowhere, yet trl still
runs its forward and backward passes, and counts its tokens in the per-token normalisation of the
loss, which shrinks the step the other groups take. `without_tied` drops such groups from a scored
generation batch (DAPO's dynamic sampling, without sampling more to refill the batch), and
`skipping_tied` makes a `GRPOTrainer` class that does so for every batch. The share of tied groups is
logged as before (`frac_reward_zero_std`), counted before they are dropped. This module does not
sample, reward or train.
"""

from __future__ import annotations

from ..common.errors import SetupError


def without_tied(batch: dict, group: int, passes: int) -> dict:
    """`batch` (trl's scored generation batch: one row per answer, the `group` answers of an
    instruction in consecutive rows) with the rows of tied groups left out, and `num_items_in_batch`
    (the answer tokens the loss is averaged over) counting the rows kept. The step's `passes` split the
    rows kept evenly, so as few tied rows as that needs stay (at least one a pass), first come first."""
    import torch

    advantages = batch["advantages"]
    rows = advantages.shape[0]
    if rows % group:
        raise ValueError(f"{rows} answers do not make groups of {group}")
    tied = (advantages.view(-1, group) == 0).all(dim=1).repeat_interleave(group)
    keep = ~tied
    short = max(passes - int(keep.sum()), (-int(keep.sum())) % passes)
    keep[tied.nonzero().flatten()[:short]] = True  # fillers: no advantage, so no gradient either
    index = keep.nonzero().flatten()
    out = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape[0] == rows:
            out[key] = value[index]
        elif isinstance(value, list) and len(value) == rows:
            out[key] = [value[i] for i in index.tolist()]
        else:
            out[key] = value
    mask = out["completion_mask"] if out.get("tool_mask") is None else out["completion_mask"] * out["tool_mask"]
    out["num_items_in_batch"] = mask.sum()
    return out


def skipping_tied(trainer_class):
    """A subclass of `trainer_class` (trl's `GRPOTrainer`) whose steps leave tied groups out."""

    class TiedLeftOut(trainer_class):
        def _generate_and_score_completions(self, inputs):
            batch = super()._generate_and_score_completions(inputs)
            if not self.model.training:
                return batch
            if self.accelerator.num_processes > 1:  # the token count would have to be gathered across them
                raise SetupError("skip_tied runs in one process only")
            return without_tied(batch, self.num_generations, self.args.steps_per_generation)

    return TiedLeftOut
