"""The gap reward model r(x, y_ref, y) of PIT: how much better a response y is than a reference y_ref.

PIT rewards an improver for the *gap* between its response and the reference it was given, so the
reward model sees both. From a preference pair (x, chosen, rejected) it learns PIT's ordering

    r(x, rejected, chosen) > r(x, chosen, chosen) ~ r(x, rejected, rejected) > r(x, chosen, rejected)

(`ordering_loss`: four pairwise logistic terms), and a squared term pulls r(x, y, y) to 0, so 0 means
"no better than the reference" and a positive score means an improvement.

Model: the offline MiniLM sentence encoder (`embeddings.default_embedder`, frozen) embeds x, y_ref
and y (384 dims each); one shared linear layer maps each embedding to `projection` dims (p_x, p_ref,
p_y), and a small MLP head (one hidden layer) reads

    [p_x, p_ref, p_y, p_y - p_ref, p_x * (p_y - p_ref)]             (5 x projection)
    [form of ref, form of y, their difference]                     (`surface.statistics`, 3 x 14)
    [cos(x, y), cos(x, ref), cos(x, y) - cos(x, ref), cos(y, ref)]  (relevance, sameness; full embeddings)

The form statistics (case, paragraphs, bullets, commas, a title, quotes, length...) are what the
uncased, pooled embedding cannot see; on compliance pairs they carry most of the signal.

The projection keeps the head small: a fifth of the multiply-adds of reading the raw 5 x 384 values,
as accurate on held-out pairs, and fewer weights to overfit a few hundred pairs.

The head is a general function of (x, ref, y), not f(x, y) - f(x, ref): the ordering and the zero for
"same quality" are learned, not built in. Training embeds every distinct text once and then runs
epochs over the cached tensors on the CPU, in seconds. It does not fine-tune the encoder, and it knows
only what the embeddings and the form statistics show (no reasoning about correctness). A trained model is
`FOLDER/gap.safetensors` (weights) + `FOLDER/gap.json` (format, version, settings, metrics).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..common.errors import InputError
from ..common.embeddings import EMBED_DIM, default_embedder
from ..common.weights import load_into, read_description, save
from .config import GapSettings
from .preferences import Preference
from .surface import SIZE, pair_features, table

FORMAT = "teamsrl-gap"
VERSION = 2  # 2: form statistics of both responses (version 1 read word counts only)
EXTRA = 3 * SIZE  # form statistics of ref and y, and their difference


class GapModel(nn.Module):
    def __init__(self, settings: GapSettings | None = None, dim: int = EMBED_DIM):
        super().__init__()
        self.settings, self.dim = settings or GapSettings(), dim
        self.metrics: dict = {}  # written to gap.json by `save` (train_gap fills it)
        s = self.settings
        self.project = nn.Linear(dim, s.projection)
        # without the form statistics, the head reads the word counts alone (the first of each group)
        self.form = slice(None) if s.form else slice(0, EXTRA, SIZE)
        extra = EXTRA if s.form else 3
        self.head = nn.Sequential(nn.Linear(5 * s.projection + extra + 4, s.hidden), nn.GELU(), nn.Dropout(s.dropout),
                                  nn.Linear(s.hidden, 1))

    def forward(self, x: torch.Tensor, ref: torch.Tensor, y: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        """Gap scores, shape [B], from embeddings [B, dim] (L2-normalised) and `pair_features` [B, EXTRA]."""
        cos_y, cos_ref = (x * y).sum(-1, keepdim=True), (x * ref).sum(-1, keepdim=True)
        cosines = torch.cat([cos_y, cos_ref, cos_y - cos_ref, (y * ref).sum(-1, keepdim=True)], dim=1)
        x, ref, y = self.project(x), self.project(ref), self.project(y)
        diff = y - ref
        return self.head(torch.cat([x, ref, y, diff, x * diff, extra[:, self.form], cosines], dim=1)).squeeze(-1)

    @torch.no_grad()
    def score(self, instructions: list[str], references: list[str], responses: list[str], embedder=None) -> list[float]:
        """r(x, ref, y) for each triple (eval mode, no gradients)."""
        if not len(instructions) == len(references) == len(responses):
            raise ValueError("instructions, references and responses must have the same length")
        embedder = embedder or default_embedder()
        was_training = self.training
        self.eval()
        scores = self(embedder(instructions), embedder(references), embedder(responses),
                      pair_features(table(references), table(responses)))
        self.train(was_training)
        return scores.tolist()

    def save(self, folder: str | Path, metrics: dict | None = None) -> Path:
        """Write FOLDER/gap.safetensors + FOLDER/gap.json (each under a temporary name first)."""
        folder = Path(folder)
        meta = {"format": FORMAT, "version": VERSION, "dim": self.dim, "settings": self.settings.to_dict(),
                "metrics": self.metrics if metrics is None else metrics}
        save(self, folder / "gap.safetensors", folder / "gap.json", meta)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "GapModel":
        """Read a model written by `save`; a missing file or any mismatch is an `InputError` naming it."""
        weights, config = Path(folder) / "gap.safetensors", Path(folder) / "gap.json"
        meta = read_description(weights, config, {"format": FORMAT, "version": VERSION})
        if not isinstance(meta.get("dim"), int) or meta["dim"] < 1:
            raise InputError(f"must be a positive integer, got {meta.get('dim')!r}", path=config, field="dim")
        try:
            model = cls(GapSettings(**meta.get("settings", {})), meta["dim"])
        except (TypeError, ValueError, RuntimeError) as error:
            raise InputError(f"not valid settings ({error})", path=config, field="settings") from None
        model = load_into(model, weights, config)
        model.metrics = meta.get("metrics") or {}
        return model


def ordering_loss(s_cr, s_cc, s_rr, s_rc, equal_weight: float = 1.0) -> torch.Tensor:
    """Mean over pairs of PIT's ordering s_cr > s_cc ~ s_rr > s_rc as four logistic terms, plus
    `equal_weight` * (s_cc^2 + s_rr^2) anchoring "same quality" at 0."""
    ls = F.logsigmoid
    order = -(ls(s_cr - s_cc) + ls(s_cr - s_rr) + ls(s_cc - s_rc) + ls(s_rr - s_rc))
    return (order + equal_weight * (s_cc**2 + s_rr**2)).mean()


def pair_inputs(prefs: list[Preference], embedder) -> dict:
    """Embeddings of every pair's prompt, chosen and rejected, and the answers' form statistics (each
    distinct text read once)."""
    texts = list(dict.fromkeys(t for p in prefs for t in (p.prompt, p.chosen, p.rejected)))
    embedded, form = embedder(texts), table(texts)
    row = {t: i for i, t in enumerate(texts)}

    def rows(values, field):
        return values[[row[getattr(p, field)] for p in prefs]]

    c, r = rows(form, "chosen"), rows(form, "rejected")
    return {"x": rows(embedded, "prompt"), "c": rows(embedded, "chosen"), "r": rows(embedded, "rejected"),
            "form_cr": pair_features(r, c), "form_rc": pair_features(c, r),
            "form_cc": pair_features(c, c), "form_rr": pair_features(r, r)}


def pair_scores(model: GapModel, inputs: dict, index=slice(None)) -> tuple[torch.Tensor, ...]:
    """(s_cr, s_cc, s_rr, s_rc) for the pairs at `index`, in one forward pass."""
    x, c, r = inputs["x"][index], inputs["c"][index], inputs["r"][index]
    scores = model(torch.cat([x, x, x, x]), torch.cat([r, c, r, c]), torch.cat([c, c, r, r]),
                   torch.cat([inputs[k][index] for k in ("form_cr", "form_cc", "form_rr", "form_rc")]))
    return scores.chunk(4)


@torch.no_grad()
def pairwise_accuracy(model: GapModel, prefs: list[Preference], embedder=None) -> dict:
    """How well the model orders the pairs: the share with s_cr > s_rc, with s_cr > 0, and mean scores."""
    if not prefs:
        return {"pairs": 0, "accuracy": None, "chosen_gap_positive": None, "mean_gap_chosen": None,
                "mean_gap_rejected": None, "mean_gap_same": None}
    was_training = model.training
    model.eval()
    s_cr, s_cc, s_rr, s_rc = pair_scores(model, pair_inputs(prefs, embedder or default_embedder()))
    model.train(was_training)
    return {"pairs": len(prefs), "accuracy": (s_cr > s_rc).float().mean().item(),
            "chosen_gap_positive": (s_cr > 0).float().mean().item(), "mean_gap_chosen": s_cr.mean().item(),
            "mean_gap_rejected": s_rc.mean().item(), "mean_gap_same": ((s_cc + s_rr) / 2).mean().item()}


def train_gap(train: list[Preference], settings: GapSettings | None = None, heldout: list[Preference] | None = None,
              embedder=None, progress: bool = False) -> tuple[GapModel, dict]:
    """Train the head on `train` (seeded, deterministic on the CPU); returns (model, history) with the
    loss per epoch, `pairwise_accuracy` on train and held-out pairs, and the seconds it took."""
    from tqdm.auto import tqdm

    if not train:
        raise InputError("no preference pairs to train the gap model on", field="train")
    settings = settings or GapSettings()
    embedder = embedder or default_embedder()
    start = time.perf_counter()
    inputs = pair_inputs(train, embedder)
    losses = []
    with torch.random.fork_rng(devices=[]):  # seed init and dropout without touching the caller's RNG
        torch.manual_seed(settings.seed)
        model = GapModel(settings, inputs["x"].shape[1])
        optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
        order = torch.Generator().manual_seed(settings.seed)
        model.train()
        for _ in tqdm(range(settings.epochs), desc="gap model", disable=not progress):
            total = 0.0
            for batch in torch.randperm(len(train), generator=order).split(max(1, settings.batch_size)):
                loss = ordering_loss(*pair_scores(model, inputs, batch), equal_weight=settings.equal_weight)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            losses.append(total / len(train))
    model.eval()
    history = {"loss": losses, "train": pairwise_accuracy(model, train, embedder),
               "heldout": pairwise_accuracy(model, heldout, embedder) if heldout else None,
               "seconds": time.perf_counter() - start}
    model.metrics = {k: v for k, v in history.items() if k != "loss"} | {"final_loss": losses[-1] if losses else None}
    return model, history
