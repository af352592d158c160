"""The batcher on a tiny Llama built from a config: batched rows equal single runs."""

import threading

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from teamsrl_graph.models.batching import BatchGenerator


class DigitTokenizer:
    """Just what the batcher needs from a tokenizer: pad/eos ids and decode."""

    pad_token_id, eos_token_id = 0, 1

    def decode(self, ids, skip_special_tokens=True):
        return " ".join(str(i) for i in ids if not (skip_special_tokens and i in (0, 1)))


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128,
                         pad_token_id=0, eos_token_id=1, bos_token_id=2)
    model = LlamaForCausalLM(config).eval()
    return BatchGenerator(model, DigitTokenizer(), max_batch=4, window_s=0.05)


PROMPTS = [[5, 6, 7], [8, 9, 10, 11, 12, 13], [20, 21]]


@pytest.mark.parametrize("limit", [1, 4, 9])
def test_batched_rows_match_single_runs(generator, limit):
    batched = generator.run_batch(PROMPTS, limit)
    for prompt, row in zip(PROMPTS, batched):
        alone = generator.run_batch([prompt], limit)[0]
        assert row.text == alone.text and row.completion_tokens == alone.completion_tokens
        assert 0 < row.completion_tokens <= limit and row.prompt_tokens == len(prompt)
        assert len(row.first_top) == 20 and row.first_top == sorted(row.first_top, key=lambda t: -t[1])


def test_concurrent_submissions_share_one_batch(generator):
    before = len(generator.batch_sizes)
    barrier, results = threading.Barrier(3), [None] * 3

    def call(i):
        barrier.wait()
        results[i] = generator.generate(PROMPTS[i], 4)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert generator.batch_sizes[before:] == [3]
    assert [r.text for r in results] == [generator.run_batch([p], 4)[0].text for p in PROMPTS]


def test_errors_reach_the_caller_and_the_worker_survives(generator):
    with pytest.raises(Exception):
        generator.generate([999], 2)  # token id outside the vocabulary
    assert generator.generate([5, 6], 2).completion_tokens > 0
