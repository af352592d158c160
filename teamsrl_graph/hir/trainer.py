"""HIRTrainer: Hindsight Instruction Relabeling for a causal LM with a LoRA adapter.

Each round samples k outputs per fresh task instance with the current model (batched, left
padded), lets the task's verifier relabel them into (instruction, output) pairs (`relabel.py` for
exact-answer tasks, `constrained.py` for instructions with verifiable constraints) and then
trains the adapter for a fixed number of optimizer steps on

    label-smoothed cross-entropy of the output under its own instruction (hindsight pairs weighted)
    + contrastive_weight * -log p(y|pos) / (p(y|pos) + p(y|neg))   (sequence probabilities)
    - entropy_weight * mean token entropy on the output,

on batches drawn at random from the round's pairs or, with `balance`, half relabeled and half
positives of their own instruction.

Accuracy on held-out instances (greedy; for constrained instructions, the share that satisfies
every constraint) is measured before training and after every round. With graph records that carry
no constraints, the pairs come from the reviewer's verdicts once and every round
only trains; its "accuracy" is then how often an output is more likely under its own instruction
than under the other one. `save` writes the adapter (safetensors, loadable with plain
`peft.PeftModel.from_pretrained`), `log.jsonl` and `accuracy.png`. The trainer does not merge
adapters and has no reward model.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import tempfile
import time
from pathlib import Path

from ..common import plots
from ..models import local
from ..models.local import chat_ids
from ..models.offline import sample
from ..common.checks import given
from ..common.files import move_into_place
from .config import HIRConfig
from .relabel import Pair
from .tasks import make_task

log = logging.getLogger(__name__)


def sequence_logprobs(logits, labels):
    """Sum of log p(label) per row over positions whose label is not -100; logits[t] predicts labels[t]."""
    mask = labels != -100  # only the output positions go through the (vocabulary-wide) softmax
    token = logits[mask].float().log_softmax(-1).gather(-1, labels[mask].unsqueeze(-1)).squeeze(-1)
    return token.new_zeros(labels.shape[0]).index_add(0, mask.nonzero()[:, 0], token)


def contrastive_loss(logp_pos, logp_neg):
    """Mean of -log p(y|pos) / (p(y|pos) + p(y|neg)), from sequence log-probabilities."""
    import torch.nn.functional as F

    return -F.logsigmoid(logp_pos - logp_neg).mean()


def shuffled_batches(pairs: list[Pair], size: int, rng: random.Random):
    """Endless batches of `size` pairs, each pass over `pairs` in a new random order."""
    order: list[Pair] = []
    while True:
        while len(order) < size:
            order += rng.sample(pairs, len(pairs))
        batch, order = order[:size], order[size:]
        yield batch


def balanced_batches(pairs: list[Pair], size: int, rng: random.Random):
    """Endless batches holding as many relabeled (hindsight) pairs as pairs of their own instruction
    (the odd one out goes to the original side), so neither kind dominates a small batch; plain
    `shuffled_batches` when one kind is missing."""
    own, relabeled = [p for p in pairs if not p.hindsight], [p for p in pairs if p.hindsight]
    if not own or not relabeled or size < 2:
        yield from shuffled_batches(pairs, size, rng)
        return
    half = size // 2
    for first, second in zip(shuffled_batches(own, size - half, rng), shuffled_batches(relabeled, half, rng)):
        yield first + second


class HIRTrainer:
    """Online sampling, hindsight relabeling and offline training of a LoRA adapter, for `config.rounds`."""

    def __init__(self, config: HIRConfig | None = None, model=None, tokenizer=None, task=None,
                 pairs: list[Pair] | None = None):
        import torch
        from peft import PeftModel, get_peft_model

        self.config = config = given(config, HIRConfig)
        if model is None:
            model, tokenizer = local.load()
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.tokenizer = tokenizer
        self.model = model if isinstance(model, PeftModel) else get_peft_model(model, config.lora.peft_config())
        self.optimizer = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad],
                                           lr=config.learning_rate)
        self.rng = random.Random(config.seed)
        self.pairs = pairs  # fixed pairs (graph records); None means sample from the task every round
        self.task = None if pairs is not None else (task or make_task(config.task, config.difficulty))
        if self.task is not None:
            self.train_instances = self.task.instances(config.rounds * config.prompts_per_round, config.seed)
            self.eval_instances = self.task.instances(config.eval_instances, config.seed + 1,
                                                      exclude={i.prompt for i in self.train_instances})
        self.history: list[dict] = []

    # -- sampling and scoring ------------------------------------------------------------------

    def generate(self, prompts: list[str], n: int = 1, temperature: float = 0.0,
                 max_new_tokens: int | None = None) -> list[list[str]]:
        """`n` outputs per prompt from the current model, `generation_batch` sequences per call, at
        most `max_new_tokens` each (default: the task's cap)."""
        # no repetition penalty (`sample`'s): sorting and counting answers must repeat words from the prompt
        return sample(self.model, self.tokenizer, prompts, n, temperature, max_new_tokens or self.task.max_new_tokens,
                      self.config.generation_batch, self.config.seed)

    def accuracy(self) -> float:
        """Held-out task accuracy (greedy); for fixed pairs, how often pos beats neg in probability."""
        if self.task is not None:
            outputs = self.generate([i.prompt for i in self.eval_instances])
            return sum(self.task.verify(i, o[0]) for i, o in zip(self.eval_instances, outputs)) / len(outputs)
        import torch

        scored = [p for p in self.pairs if p.negative is not None]
        if not scored:
            return float("nan")
        wins = 0
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(scored), self.config.batch_size):
                chunk = scored[start:start + self.config.batch_size]
                logp = self._logprobs(chunk + [p.negative_pair() for p in chunk])[0]
                wins += int((logp[:len(chunk)] > logp[len(chunk):]).sum())
        return wins / len(scored)

    def sample(self, round_index: int) -> tuple[list, list[list[str]]]:
        """This round's instances and `samples` outputs for each, drawn with the current model."""
        import torch

        size = self.config.prompts_per_round
        instances = self.train_instances[(round_index - 1) * size:round_index * size]
        torch.manual_seed(self.config.seed * 1000 + round_index)
        return instances, self.generate([i.prompt for i in instances], self.config.samples, self.config.temperature)

    def relabel(self, instances: list, outputs: list[list[str]]) -> tuple[list[Pair], float]:
        """The task's pairs of sampled outputs, and the fraction of outputs its verifier accepts."""
        cfg, pairs, correct = self.config, [], 0
        for instance, outs in zip(instances, outputs):
            correct += sum(self.task.verify(instance, o) for o in outs)
            pairs += self.task.pairs(instance, outs, keep_wrong=cfg.keep_wrong, subspan=cfg.subspan,
                                     template=cfg.wrong_instruction)
        return pairs, correct / max(1, sum(map(len, outputs)))

    def collect(self, round_index: int) -> tuple[list[Pair], float]:
        """Sample this round's instances k times, verify and relabel: (pairs, fraction of correct samples)."""
        return self.relabel(*self.sample(round_index))

    # -- training ------------------------------------------------------------------------------

    def _logprobs(self, pairs: list[Pair]):
        """(sequence log-probs, logits at output positions, labels there) for (instruction, output) pairs."""
        import torch

        tok, rows, starts = self.tokenizer, [], []
        for p in pairs:
            prompt = chat_ids(tok, [{"role": "user", "content": p.instruction}], generation_prompt=True)
            output = tok(p.output, add_special_tokens=False)["input_ids"] + ([tok.eos_token_id] if p.complete else [])
            rows.append((prompt + output)[:self.config.max_length])
            starts.append(len(prompt))
        width = max(map(len, rows))
        ids = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (row, start) in enumerate(zip(rows, starts)):  # right padding: positions stay 0..n-1
            ids[i, :len(row)] = torch.tensor(row)
            labels[i, start:len(row)] = ids[i, start:len(row)]
            mask[i, :len(row)] = 1
        device = self.model.device
        logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits[:, :-1]
        labels = labels[:, 1:].to(device)
        return sequence_logprobs(logits, labels), logits, labels

    def compute_loss(self, pairs: list[Pair]) -> tuple:
        """(loss, {"ce", "contrastive", "entropy"}) of one batch of pairs."""
        import torch
        import torch.nn.functional as F

        cfg = self.config
        contrast = [i for i, p in enumerate(pairs) if p.negative is not None] if cfg.contrastive_weight else []
        negatives = [pairs[i].negative_pair() for i in contrast]
        logp, logits, labels = self._logprobs(pairs + negatives)
        n = len(pairs)
        positions = labels[:n] != -100
        token_logits, token_labels = logits[:n][positions].float(), labels[:n][positions]
        token_ce = F.cross_entropy(token_logits, token_labels, label_smoothing=cfg.label_smoothing, reduction="none")
        weights = torch.tensor([cfg.hindsight_weight if p.hindsight else 1.0 for p in pairs], device=token_ce.device)
        token_weights = weights[positions.nonzero()[:, 0]]
        ce = (token_ce * token_weights).sum() / token_weights.sum().clamp(min=1e-8)
        loss, parts = ce, {"ce": ce.item()}
        if contrast:
            con = contrastive_loss(logp[contrast], logp[n:])
            loss = loss + cfg.contrastive_weight * con
            parts["contrastive"] = con.item()
        if cfg.entropy_weight:
            logq = token_logits.log_softmax(-1)
            entropy = -(logq.exp() * logq).sum(-1).mean()
            loss = loss - cfg.entropy_weight * entropy
            parts["entropy"] = entropy.item()
        return loss, parts

    def fit(self, pairs: list[Pair], desc: str = "train") -> dict:
        """`steps_per_round` optimizer steps on batches drawn from `pairs` (reshuffled each pass)."""
        import torch
        from tqdm.auto import tqdm

        cfg, totals = self.config, {}
        if not pairs:
            return {}
        draw = balanced_batches(pairs, cfg.batch_size, self.rng) if cfg.balance else shuffled_batches(
            pairs, cfg.batch_size, self.rng)
        self.model.train()
        for _ in tqdm(range(cfg.steps_per_round), desc=desc, leave=False):
            batch = next(draw)
            loss, parts = self.compute_loss(batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
            self.optimizer.step()
            self.optimizer.zero_grad()
            for key, value in {"loss": loss.item(), **parts}.items():
                totals[key] = totals.get(key, 0.0) + value / cfg.steps_per_round
        self.model.eval()
        return totals

    def train(self, start_accuracy: float | None = None) -> list[dict]:
        """Run every round; returns (and keeps in `history`) one log entry per round, round 0 = before training.

        `start_accuracy`, when the untrained model was already scored on the same instances, skips scoring it again.
        """
        start = time.monotonic()
        self._log({"round": 0, "accuracy": self.accuracy() if start_accuracy is None else start_accuracy}, start)
        for r in range(1, self.config.rounds + 1):
            if self.task is not None:
                pairs, sampled = self.collect(r)
                entry = {"round": r, "sample_accuracy": sampled}
            else:
                pairs, entry = self.pairs, {"round": r}
            losses = self.fit(pairs, desc=f"round {r}")
            self._log({**entry, "pairs": len(pairs), **losses, "accuracy": self.accuracy()}, start)
        return self.history

    def _log(self, entry: dict, start: float):
        entry["seconds"] = round(time.monotonic() - start, 1)
        self.history.append(entry)
        log.info("round %d: %s", entry["round"], ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                                          for k, v in entry.items() if k != "round"))

    def save(self, out: str | Path | None = None) -> Path:
        """Write adapter/, log.jsonl and accuracy.png into `out` (default config.output_dir), atomically per item."""
        out = Path(out or self.config.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".hir-", dir=out))
        try:
            self.model.save_pretrained(tmp / "adapter", safe_serialization=True)
            (tmp / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2), encoding="utf-8")
            (tmp / "log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in self.history), encoding="utf-8")
            what = "held-out accuracy" if self.task is not None else "pos-over-neg accuracy"
            plots.line_plot(tmp / "accuracy.png", {what: [e["accuracy"] for e in self.history]},
                            x=[e["round"] for e in self.history], xlabel="round", ylabel=what,
                            title=f"HIR on {self.task.name if self.task else 'graph records'}")
            for name in ("adapter", "config.json", "log.jsonl", "accuracy.png"):
                move_into_place(tmp / name, out / name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return out
