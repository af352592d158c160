"""Early stopping for LoRA fine-tuning: the loss on a validation split (records not trained on) is
measured `evaluations_per_epoch` times an epoch (and at the end); the adapter weights of the best
evaluation are kept in memory (a LoRA adapter is a few MB) and put back at the end, and training
stops once the validation loss has not improved for `patience` evaluations. This is what keeps one
small SFT step from memorising its records. With one evaluation an epoch, a one-epoch run cannot
stop early: it evaluates once, at its end."""

from __future__ import annotations

import math

from transformers import TrainerCallback


class KeepBest(TrainerCallback):
    def __init__(self, patience: int = 1):
        self.patience = patience  # evaluations without improvement before training stops
        self.best = math.inf  # lowest validation loss so far
        self.best_epoch: float | None = None  # where it was measured: epoch (fractional) and optimizer step
        self.best_step: int | None = None
        self.best_state: dict | None = None  # the adapter's weights there
        self.history: list[dict] = []  # {"epoch", "step", "validation_loss"} after every evaluation
        self.waited = 0

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        from peft import get_peft_model_state_dict

        loss = float(metrics["eval_loss"])
        self.history.append({"epoch": round(state.epoch or 0.0, 3), "step": state.global_step,
                             "validation_loss": round(loss, 5)})
        if loss < self.best:
            self.best, self.best_epoch, self.best_step, self.waited = loss, state.epoch, state.global_step, 0
            self.best_state = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
        else:
            self.waited += 1
            control.should_training_stop = self.waited >= self.patience

    def restore(self, model):
        """Put the best evaluation's adapter weights back into `model` (a peft model)."""
        from peft import set_peft_model_state_dict

        if self.best_state is not None:
            set_peft_model_state_dict(model, self.best_state)
