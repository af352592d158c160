"""Early stopping for LoRA fine-tuning: the loss on a validation split (records not trained on) is
measured after every epoch; the adapter weights of the best epoch are kept in memory (a LoRA
adapter is a few MB) and put back at the end, and training stops once the validation loss has not
improved for `patience` epochs. This is what keeps one small SFT step from memorising its records."""

from __future__ import annotations

import math

from transformers import TrainerCallback


class KeepBestEpoch(TrainerCallback):
    def __init__(self, patience: int = 1):
        self.patience = patience  # epochs without improvement before training stops
        self.best = math.inf  # lowest validation loss so far
        self.best_epoch: float | None = None
        self.best_state: dict | None = None  # the adapter's weights at that epoch
        self.history: list[dict] = []  # {"epoch", "validation_loss"} after every epoch
        self.waited = 0

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        from peft import get_peft_model_state_dict

        loss = float(metrics["eval_loss"])
        self.history.append({"epoch": round(state.epoch or 0.0, 3), "validation_loss": round(loss, 5)})
        if loss < self.best:
            self.best, self.best_epoch, self.waited = loss, state.epoch, 0
            self.best_state = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
        else:
            self.waited += 1
            control.should_training_stop = self.waited >= self.patience

    def restore(self, model):
        """Put the best epoch's adapter weights back into `model` (a peft model)."""
        from peft import set_peft_model_state_dict

        if self.best_state is not None:
            set_peft_model_state_dict(model, self.best_state)
