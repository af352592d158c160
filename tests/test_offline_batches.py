"""`models.offline.batches`: consecutive batches within a row count and a padded-token cap."""

import random

import pytest

from teamsrl_graph.models.offline import batches


@pytest.mark.parametrize("lengths, rows, cap, sizes", [
    ([10] * 70, 32, 8192, [32, 32, 6]),  # short prompts: rows alone decide
    ([2591, 757, 264, 233] + [200] * 30, 32, 8192, [3, 31]),  # the long one pads only 3 rows
    ([10000, 10, 10], 32, 8192, [1, 2]),  # longer than the cap alone: a batch of its own
    ([10, 5000, 10, 10], 32, 8192, [1, 1, 2]),  # any order: a long prompt closes the batch before it
    ([100] * 5, 32, 300, [3, 2]),  # 3 x 100 fits 300 exactly
    ([], 32, 8192, []),
])
def test_batches_keep_rows_and_padded_tokens_under_their_caps(lengths, rows, cap, sizes):
    assert [len(span) for span in batches(lengths, rows, cap)] == sizes


@pytest.mark.parametrize("seed", range(20))
def test_batches_cover_every_prompt_once_in_order_within_both_caps(seed):
    rng = random.Random(seed)
    lengths = [rng.choice([rng.randint(1, 300), rng.randint(300, 5000)]) for _ in range(rng.randint(1, 120))]
    rows, cap = rng.randint(1, 40), rng.randint(200, 10000)
    spans = batches(lengths, rows, cap)
    assert [i for span in spans for i in span] == list(range(len(lengths)))
    for span in spans:
        widest = max(lengths[i] for i in span)
        assert len(span) <= rows and (len(span) == 1 or len(span) * widest <= cap)
    for before, after in zip(spans, spans[1:]):  # a batch closes only when the next prompt would break a cap
        grown = [lengths[i] for i in before] + [lengths[after.start]]
        assert len(grown) > rows or len(grown) * max(grown) > cap


@pytest.mark.parametrize("rows, cap", [(0, 8192), (32, 0)])
def test_batches_refuse_a_cap_below_one(rows, cap):
    with pytest.raises(ValueError, match="at least 1"):
        batches([10], rows, cap)
