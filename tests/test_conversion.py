"""The embedded model's one-off conversion (`models.local.converted_path`) under concurrent first use:
graph branches and training environments ask for the model from many threads at once on a fresh
cache, and the GGUF must be converted once, with every thread getting the finished folder."""

import threading
import time

import pytest

from teamsrl_graph.common.errors import SetupError
from teamsrl_graph.models import local


@pytest.mark.parametrize("threads", [2, 8])
def test_threads_asking_at_once_share_one_conversion(tmp_path, monkeypatch, threads):
    conversions = []

    def convert(source, target):  # stands in for the ~15 s dequantization: slow enough for every thread to ask
        conversions.append(target)
        time.sleep(0.3)
        target.mkdir(parents=True)
        (target / "model.safetensors").write_bytes(b"weights")

    monkeypatch.setattr(local, "_convert", convert)
    monkeypatch.setattr(local, "gguf_path", lambda: tmp_path / "model.gguf")
    start, results, errors = threading.Barrier(threads), [], []

    def ask():
        start.wait()
        try:
            results.append(local.converted_path(tmp_path / "cache"))
        except Exception as error:  # a thread that read a half-made folder
            errors.append(error)

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert len(conversions) == 1
    assert results == [tmp_path / "cache" / local.CONVERTED_NAME] * threads
    assert (results[0] / "model.safetensors").read_bytes() == b"weights"


def test_a_converted_folder_is_not_converted_again(tmp_path, monkeypatch):
    folder = tmp_path / local.CONVERTED_NAME
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    monkeypatch.setattr(local, "_convert", lambda source, target: pytest.fail("converted a folder that was there"))
    assert local.converted_path(tmp_path) == folder


def test_a_folder_another_process_put_in_place_first_is_kept(tmp_path):
    # two processes converted at once; the second to finish finds the first one's folder in place
    target, mine = tmp_path / local.CONVERTED_NAME, tmp_path / ".mine"
    for folder, weights in ((target, b"first"), (mine, b"second")):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(weights)
    local._publish(mine, target)
    assert (target / "model.safetensors").read_bytes() == b"first" and not mine.exists()
    fresh = tmp_path / ".fresh"
    fresh.mkdir()
    (fresh / "model.safetensors").write_bytes(b"only")
    local._publish(fresh, tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "model.safetensors").read_bytes() == b"only" and not fresh.exists()


def test_a_half_made_folder_in_the_way_is_not_taken_for_a_model(tmp_path):
    target, mine = tmp_path / local.CONVERTED_NAME, tmp_path / ".mine"
    target.mkdir()
    (target / "config.json").write_text("{}")  # no weights: not a finished conversion
    mine.mkdir()
    (mine / "model.safetensors").write_bytes(b"weights")
    with pytest.raises(SetupError, match=f"{target} is in the way"):
        local._publish(mine, target)
