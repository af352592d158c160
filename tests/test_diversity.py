"""`embeddings.diversity`: mean pairwise cosine distance, on hand-made unit vectors."""

import pytest
import torch

from teamsrl_graph.common.embeddings import diversity

VECTORS = {"a": [1.0, 0.0], "a again": [1.0, 0.0], "b": [0.0, 1.0], "minus a": [-1.0, 0.0]}


def embed(texts):
    return torch.tensor([VECTORS[t] for t in texts])


@pytest.mark.parametrize("texts, expected", [
    ([], 0.0), (["a"], 0.0), (["a", "a again"], 0.0), (["a", "b"], 1.0), (["a", "minus a"], 2.0),
    (["a", "a again", "b"], 2 / 3),
])
def test_mean_pairwise_cosine_distance(texts, expected):
    assert diversity(texts, embed) == pytest.approx(expected)
