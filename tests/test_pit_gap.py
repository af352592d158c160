"""The gap reward model: its ordering loss, training on pairs with a learnable signal, and its files."""

from __future__ import annotations

import json
import math

import pytest
import torch

from teamsrl_graph.common.errors import InputError
from teamsrl_graph.pit.gap import GapModel, GapSettings, ordering_loss, pairwise_accuracy, train_gap
from teamsrl_graph.pit.preferences import Preference
from teamsrl_graph.dataio.records import split_heldout

TOPICS = ["volcanoes", "honeybees", "the moon", "rainbows", "glaciers", "coral reefs", "earthquakes", "tides",
          "photosynthesis", "black holes", "the human heart", "vaccines", "bread baking", "chess openings",
          "solar panels", "wind turbines", "the printing press", "ancient Rome", "jazz music", "origami",
          "penguins", "deserts", "thunderstorms", "compost", "bicycles", "submarines", "the internet",
          "coffee roasting", "sleep", "dinosaurs", "tea ceremonies", "the Olympic games", "recycling",
          "rainforests", "comets", "sharks", "windmills", "cheese making", "hurricanes", "the piano"]
# Off-topic answers are about subjects no instruction asks about, each used once, so a held-out pair's
# rejected answer was never seen in training.
OTHER = ["tax forms", "knitting", "car insurance", "opera singers", "parking rules", "stamp collecting",
         "video codecs", "lawn mowers", "shoe sizes", "spreadsheet macros", "elevator repair", "poker chips",
         "office chairs", "train timetables", "nail polish", "wedding cakes", "garden gnomes", "printer ink",
         "hotel loyalty points", "golf clubs"]
ASK = ["Explain {t} in simple terms.", "Give three facts about {t}.", "Why are {t} interesting?",
       "Describe {t} for a ten-year-old."]


def answer(topic: str) -> str:
    return (f"Here is a clear overview of {topic}. First, {topic} have a long history that people have studied "
            f"carefully. Second, learning about {topic} helps in everyday life and in school. Finally, many books "
            f"and museums explain {topic} in more detail, with pictures and examples.")


def synthetic_pairs() -> list[Preference]:
    """40 pairs: chosen answers the instruction; rejected is on another subject (even i) or cut short (odd i)."""
    pairs = []
    for i, topic in enumerate(TOPICS):
        good = answer(topic)
        bad = answer(OTHER[i // 2]) if i % 2 == 0 else " ".join(good.split()[:7])
        pairs.append(Preference(ASK[i % len(ASK)].format(t=topic), good, bad, id=str(i)))
    return pairs


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The head is small: extra threads buy nothing and, on a busy shared CPU, cost a lot."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def split():
    return split_heldout(synthetic_pairs(), 0.25, seed=0)


@pytest.fixture(scope="module")
def trained(split):
    train, heldout = split
    return train_gap(train, GapSettings(), heldout=heldout)


def test_ordering_loss_prefers_the_pit_order():
    zero = torch.zeros(3)
    assert ordering_loss(zero, zero, zero, zero).item() == pytest.approx(4 * math.log(2))
    right = [torch.tensor([2.0]), torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([-2.0])]
    reversed_ = right[::-1]
    assert ordering_loss(*right) < 4 * math.log(2) < ordering_loss(*reversed_)
    # s_cr = 1, s_cc = s_rr = 0, s_rc = -1: four terms log(1 + e^-1) and no equality penalty
    assert ordering_loss(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([-1.0])).item() \
        == pytest.approx(4 * math.log1p(math.exp(-1)))
    # the equality term: s_cc = s_rr = 1 costs equal_weight * 2 on top of the ordering terms
    one, cr, rc = torch.tensor([1.0]), torch.tensor([1.0]), torch.tensor([1.0])
    extra = ordering_loss(cr, one, one, rc, equal_weight=0.5) - ordering_loss(cr, one, one, rc, equal_weight=0.0)
    assert extra.item() == pytest.approx(1.0)


def test_training_learns_to_rank_unseen_pairs(trained, split):
    model, history = trained
    train, heldout = split
    assert len(history["loss"]) == GapSettings().epochs and history["loss"][-1] < 0.2 * history["loss"][0]
    assert history["train"]["pairs"] == len(train) == 30 and history["heldout"]["pairs"] == len(heldout) == 10
    held = history["heldout"]
    assert held["accuracy"] >= 0.8 and held["chosen_gap_positive"] >= 0.8
    assert held["mean_gap_chosen"] > 1 > -1 > held["mean_gap_rejected"]
    # "same quality" sits near 0, far from either gap
    assert abs(held["mean_gap_same"]) < 0.1 * held["mean_gap_chosen"]
    same = model.score([p.prompt for p in heldout], [p.chosen for p in heldout], [p.chosen for p in heldout])
    assert max(abs(s) for s in same) < 0.25 * held["mean_gap_chosen"]
    assert model.metrics["heldout"] == held and history["seconds"] > 0


def test_the_ranking_comes_from_the_labels(trained, split):
    """Trained on the same pairs with chosen and rejected swapped, it ranks the held-out pairs the other
    way: the accuracy above is learned from the preferences, not an artefact of the features."""
    train, heldout = split
    swapped = [Preference(p.prompt, p.rejected, p.chosen, p.id) for p in train]
    _, history = train_gap(swapped, GapSettings(), heldout=heldout)
    assert history["heldout"]["accuracy"] <= 0.2


def test_training_is_deterministic(split):
    train, _ = split
    first, second = (train_gap(train, GapSettings(epochs=5, batch_size=8))[0] for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    third, _ = train_gap(train, GapSettings(epochs=5, batch_size=8, seed=1))
    assert not torch.equal(first.head[0].weight, third.head[0].weight)


def test_save_and_load_give_the_same_scores(trained, split, tmp_path):
    model, history = trained
    _, heldout = split
    folder = model.save(tmp_path / "gap")
    assert sorted(p.name for p in folder.iterdir()) == ["gap.json", "gap.safetensors"]
    loaded = GapModel.load(folder)
    args = ([p.prompt for p in heldout], [p.rejected for p in heldout], [p.chosen for p in heldout])
    assert loaded.score(*args) == model.score(*args)
    assert loaded.settings == model.settings and loaded.metrics["heldout"] == history["heldout"]
    assert pairwise_accuracy(loaded, heldout) == history["heldout"]


def test_bad_model_folders_name_the_file(trained, tmp_path):
    model, _ = trained
    folder = model.save(tmp_path / "gap")
    config = folder / "gap.json"
    meta = json.loads(config.read_text())

    def fails(text, match, name="gap.json"):
        config.write_text(text)
        with pytest.raises(InputError, match=match) as caught:
            GapModel.load(folder)
        assert caught.value.path == folder / name

    fails("{not json", "not valid JSON")
    fails(json.dumps({**meta, "version": 99}), "field 'version': is 99")
    fails(json.dumps({**meta, "settings": {**meta["settings"], "width": 3}}), "field 'settings': not valid settings")
    fails(json.dumps({**meta, "settings": {**meta["settings"], "hidden": 32}}), "has shape", name="gap.safetensors")
    config.write_text(json.dumps(meta))
    (folder / "gap.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(InputError, match="not a readable safetensors file"):
        GapModel.load(folder)
    (folder / "gap.safetensors").unlink()
    with pytest.raises(InputError, match="gap.safetensors: no such file"):
        GapModel.load(folder)


@pytest.mark.parametrize("text, expected", [
    ("hello there, friend.\nhow are you?", {"words": 6, "lowercase share": 1.0, "uppercase share": 0.0, "commas": 1,
                                            "sentences": 2, "paragraphs": 1, "lines": 2}),
    ("SHOUT IT", {"words": 2, "lowercase share": 0.0, "uppercase share": 1.0}),
    ("<<A Title>>\n\nFirst part.\n\n***\n\nSecond part.", {"has <<title>>": 1.0, "paragraphs": 3, "lines": 4}),
    ("* one\n* two\n- three", {"bullet lines": 3, "lines": 3}),
    ('"All of it, quoted."', {"whole text quoted": 1.0, "commas": 1}),
    ("Meet at [address] on [date].\nP.S. bring tea", {"[placeholders]": 2, "has P.S.": 1.0}),
    ("Some *bold idea* and *another*", {"*highlights*": 2}),
    ('{"a": 1}', {"starts as JSON or code": 1.0, "whole text quoted": 0.0}),
    ("", {"words": 0, "lowercase share": 0.0, "lines": 0, "paragraphs": 0}),
])
def test_surface_statistics(text, expected):
    from teamsrl_graph.pit import surface

    got = dict(zip(surface.NAMES, surface.statistics(text)))
    for name, value in expected.items():
        counted = name in ("words", "commas", "sentences", "paragraphs", "lines", "bullet lines", "[placeholders]",
                           "*highlights*")
        assert got[name] == pytest.approx(math.log1p(value) if counted else value), name


def test_form_the_embedding_cannot_see_is_learned():
    """Chosen and rejected differ only in letter case, which the uncased encoder maps to the same
    embedding: only the form statistics can rank these pairs."""
    pairs = [Preference(f"Tell me about {t}, all in lowercase letters.", answer(t).lower(), answer(t), id=str(i))
             for i, t in enumerate(TOPICS)]
    train, heldout = split_heldout(pairs, 0.25, seed=0)
    _, history = train_gap(train, GapSettings(), heldout=heldout)
    assert history["heldout"]["accuracy"] == 1.0
    blind, history = train_gap(train, GapSettings(form=False), heldout=heldout)  # word counts only: no case
    assert history["heldout"]["accuracy"] <= 0.5
    assert blind.head[0].in_features == 5 * GapSettings().projection + 3 + 4


def test_gap_features_reads_the_pairs_the_trainers_run_wrote(tmp_path):
    # benchmarks/gap_features.py cross-validates on the PIT trainer's own training pairs: the file the
    # trainers run wrote, minus the trainer's held-out split at the run's seed; no pairs is an InputError
    from teamsrl_graph.pit.config import PITConfig
    from teamsrl_graph.pit.preferences import write_preferences
    from test_benchmark_results import script

    bench = script("gap_features")
    (tmp_path / "settings.json").write_text(json.dumps({"instructions": 10, "seed": 3, "draws": 4}))
    with pytest.raises(InputError, match="no such file") as caught:  # the run trained no PIT model
        bench.training_pairs(tmp_path)
    assert caught.value.path == tmp_path / "pit" / "preferences.jsonl"
    pairs = [Preference(f"Write about {t}.", f"All about {t}.", f"About {o}.", id=str(i))
             for i, (t, o) in enumerate(zip(TOPICS[:10], OTHER))]
    write_preferences(tmp_path / "pit" / "preferences.jsonl", pairs)
    train, settings = bench.training_pairs(tmp_path)
    expected, held = split_heldout(pairs, PITConfig.heldout_fraction, 3)
    assert [p.id for p in train] == [p.id for p in expected] and held and settings["draws"] == 4
    assert not {p.id for p in train} & {p.id for p in held}
