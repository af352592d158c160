"""The batching engine on a tiny Llama built from a config: continuous batching gives every request
the tokens it would get alone, scoring equals the generation path's first-token log-probabilities,
and close() stops the worker."""

import math
import random
import threading
import time

import pytest
import torch
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st
from transformers import LlamaConfig, LlamaForCausalLM

from teamsrl_graph.models.batching import BatchGenerator, EngineClosed


class DigitTokenizer:
    """Just what the batcher needs from a tokenizer: pad/eos ids and decode."""

    pad_token_id, eos_token_id = 0, 1

    def decode(self, ids, skip_special_tokens=True):
        return " ".join(str(i) for i in ids if not (skip_special_tokens and i in (0, 1)))


def tiny_llama(seed=0, eos_bias=0.0):
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256,
                         pad_token_id=0, eos_token_id=1, bos_token_id=2)
    model = LlamaForCausalLM(config).eval()
    if eos_bias:  # make end-of-sequence likely, so some requests stop early
        with torch.no_grad():
            model.lm_head.weight[1] += eos_bias * model.lm_head.weight[1].sign()
    return model


@pytest.fixture(scope="module")
def generator():
    engine = BatchGenerator(tiny_llama(), DigitTokenizer(), max_batch=4, window_s=0.05)
    yield engine
    engine.close()


PROMPTS = [[5, 6, 7], [8, 9, 10, 11, 12, 13], [20, 21]]


def alone(engine, prompt, limit):
    """The static path on one prompt: what the request would get by itself."""
    return engine.run_batch([prompt], limit)[0]


@pytest.mark.parametrize("limit", [1, 4, 9])
def test_static_batched_rows_match_single_runs(generator, limit):
    batched = generator.run_batch(PROMPTS, limit)
    for prompt, row in zip(PROMPTS, batched):
        single = alone(generator, prompt, limit)
        assert row.text == single.text and row.completion_tokens == single.completion_tokens
        assert 0 < row.completion_tokens <= limit and row.prompt_tokens == len(prompt)
        assert len(row.first_top) == 20 and row.first_top == sorted(row.first_top, key=lambda t: -t[1])


def test_engine_rows_match_single_runs(generator):
    limits = [3, 9, 1]
    futures = [generator.submit(p, n) for p, n in zip(PROMPTS, limits)]
    for prompt, limit, future in zip(PROMPTS, limits, futures):
        got, want = future.result(timeout=60), alone(generator, prompt, limit)
        assert (got.text, got.completion_tokens, got.finish_reason) == (want.text, want.completion_tokens, want.finish_reason)
        assert [t for t, _ in got.first_top] == [t for t, _ in want.first_top]


def test_scoring_equals_the_generation_paths_first_token(generator):
    """A scoring request (one forward pass, no decoding) gives the top-20 log-probabilities that a
    generation gives at its first token, so P(Yes) is the same."""
    prompts = PROMPTS + [[30, 31, 32, 33]]
    futures = [generator.submit(p, 0) for p in prompts]
    generated = generator.run_batch(prompts, 4)
    for future, old in zip(futures, generated):
        scored = future.result(timeout=60)
        assert scored.completion_tokens == 1 and scored.prompt_tokens == old.prompt_tokens
        assert [t for t, _ in scored.first_top] == [t for t, _ in old.first_top]
        assert all(math.isclose(a, b, abs_tol=1e-4) for (_, a), (_, b) in zip(scored.first_top, old.first_top))
        assert scored.text == scored.first_top[0][0]
        yes = {scored.first_top[0][0], scored.first_top[1][0]}  # any two tokens stand in for Yes/No
        p = [sum(math.exp(lp) for t, lp in top if t in yes) for top in (scored.first_top, old.first_top)]
        assert math.isclose(p[0], p[1], rel_tol=1e-4)


def test_scoring_never_occupies_a_decode_batch(generator):
    before = len(generator.batch_sizes)
    done = [generator.submit(p, 0) for p in PROMPTS]
    for f in done:
        f.result(timeout=60)
    assert len(generator.batch_sizes) == before  # no decode step ran


@settings(max_examples=15, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # shrinking takes minutes
@given(requests=st.lists(st.tuples(st.lists(st.integers(3, 63), min_size=1, max_size=12),  # prompt
                          st.integers(1, 24),  # max_new_tokens
                          st.floats(0, 0.03)),  # arrival delay after the previous request
                         min_size=1, max_size=14),
       max_batch=st.integers(1, 4))
@example(requests=[([5, 6], 12, 0.0), ([7], 1, 0.0), ([8], 1, 0.0), ([9, 10], 12, 0.0), ([11], 12, 0.0)], max_batch=2)
def test_mixed_limits_refill_free_slots(eos_engine, requests, max_batch):
    """Random arrivals with random token limits: every request finishes with exactly its own greedy
    tokens, the batch never holds more than max_batch rows, and a row freed while others wait is
    refilled at once (no step runs below max_batch while a request is waiting)."""
    engine = eos_engine
    log = []
    engine.max_batch, engine.step_log = max_batch, log
    engine.batch_sizes.clear()
    futures = []
    for prompt, limit, delay in requests:
        time.sleep(delay)
        futures.append(engine.submit(prompt, limit))
    results = [f.result(timeout=120) for f in futures]
    steps, engine.step_log = list(engine.batch_sizes), None
    assert all(1 <= rows <= max_batch for rows in steps)
    assert all(rows == max_batch for rows, waiting in log if waiting)
    # a request's first token comes from its prefill, each later one from one decode step: no step is wasted
    assert sum(r.completion_tokens for r in results) == len(requests) + sum(steps)
    for (prompt, limit, _), got in zip(requests, results):
        want = alone(engine, prompt, limit)
        assert (got.text, got.completion_tokens, got.finish_reason) == (want.text, want.completion_tokens, want.finish_reason)


@pytest.fixture(scope="module")
def eos_engine():
    """An engine whose model often ends early, so rows leave at unpredictable steps."""
    engine = BatchGenerator(tiny_llama(1, eos_bias=0.5), DigitTokenizer(), window_s=0.0)
    yield engine
    engine.close()


def test_refilling_never_starves_a_long_request(generator):
    """A long request keeps decoding while many short ones pass through the other slots."""
    long = generator.submit([40, 41, 42], 40)
    short = [generator.submit([random.Random(i).randrange(3, 64)], 2) for i in range(20)]
    assert all(f.result(timeout=60).completion_tokens <= 2 for f in short)
    got = long.result(timeout=60)
    assert got.text == alone(generator, [40, 41, 42], 40).text


def test_sampling_is_seeded_per_request_and_leaves_the_global_rng_alone(generator):
    state = torch.random.get_rng_state()
    a = generator.submit([5, 6, 7], 12, temperature=1.0, seed=7)
    b = generator.submit([5, 6, 7], 12, temperature=1.0, seed=7)
    c = generator.submit([8, 9], 6, temperature=1.0, seed=8)
    assert a.result(timeout=60).text == b.result(timeout=60).text
    c.result(timeout=60)
    generator.run_batch([[5, 6, 7]], 4, temperature=1.0)
    assert torch.equal(state, torch.random.get_rng_state())


def test_close_stops_the_worker_fails_pending_requests_and_restarts(generator):
    engine = BatchGenerator(tiny_llama(), DigitTokenizer(), max_batch=2)
    with engine:
        engine.generate([5, 6], 2)
        assert engine.running
        worker = engine._thread
        pending = [engine.submit([5, 6, 7], 200) for _ in range(5)]
    assert not worker.is_alive() and not engine.running
    for future in pending:
        with pytest.raises(EngineClosed):
            future.result(timeout=10)
    assert engine.generate([5, 6], 2).completion_tokens > 0  # a later request starts a fresh worker
    assert engine.running
    engine.close()
    assert not engine.running


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
    assert max(generator.batch_sizes[before:]) == 3
    assert [r.text for r in results] == [alone(generator, p, 4).text for p in PROMPTS]


def test_errors_reach_the_caller_and_the_worker_survives(generator):
    with pytest.raises(Exception):
        generator.generate([999], 2)  # token id outside the vocabulary
    with pytest.raises(Exception):
        generator.score([999])
    assert generator.generate([5, 6], 2).completion_tokens > 0


def test_a_one_token_logprobs_call_is_scored_with_the_same_p_yes(tiny_model):
    """LocalChatModel: `logprobs=True, max_tokens=1` is a scoring request whose top-20 first-token
    log-probabilities (hence P(Yes)) equal those of a generating call."""
    from langchain_core.messages import HumanMessage

    from teamsrl_graph.models.chat import LocalChatModel, close_engines
    from teamsrl_graph.evolve.review import gain_probability

    model = LocalChatModel(model_path=str(tiny_model))
    engine = model.engine
    for question in ["Does the new instruction add information? Answer Yes or No.", "Is water wet?"]:
        messages = [HumanMessage(question)]
        steps, scores = len(engine.batch_sizes), engine.stats.scores
        scored = model.invoke(messages, max_tokens=1, logprobs=True, top_logprobs=20)
        assert engine.stats.scores == scores + 1 and len(engine.batch_sizes) == steps  # scored, no decode step
        generated = model.invoke(messages, max_tokens=4, logprobs=True, top_logprobs=20)
        a = scored.response_metadata["logprobs"]["content"][0]["top_logprobs"]
        b = generated.response_metadata["logprobs"]["content"][0]["top_logprobs"]
        assert len(a) == 20 and [t["token"] for t in a] == [t["token"] for t in b]
        assert all(math.isclose(x["logprob"], y["logprob"], abs_tol=1e-4) for x, y in zip(a, b))
        assert scored.text == a[0]["token"].strip() or scored.text == a[0]["token"]
        assert scored.usage_metadata["output_tokens"] == 1
        # the tiny model's vocabulary ranks arbitrary tokens: name two of its top ones Yes and No
        renamed = [[{**t, "token": {a[0]["token"]: "Yes", a[1]["token"]: "No"}.get(t["token"], "x")} for t in top]
                   for top in (a, b)]
        assert math.isclose(gain_probability(renamed[0]), gain_probability(renamed[1]), rel_tol=1e-4)
    close_engines()
    assert not engine.running
    assert model.invoke([HumanMessage("Again?")], max_tokens=2).usage_metadata["output_tokens"] >= 1
    assert engine.running  # restarted on the next call
    close_engines()


def test_samples_of_one_prompt_share_one_prefill_and_decode_as_if_alone():
    """k requests for the same prompt admitted together prefill it once; each row still samples
    exactly what it would sample alone with its seed, and a greedy request beside them is untouched."""
    engine = BatchGenerator(tiny_llama(), DigitTokenizer(), max_batch=8, window_s=0.3)
    try:
        prompt = [5, 6, 7]
        futures = [engine.submit(prompt, 6, temperature=1.0, seed=100 + i) for i in range(4)]
        futures.append(engine.submit([8, 9], 6))
        together = [f.result() for f in futures]
        assert engine.stats.prefill_rows == 2  # two distinct prompts, one prefill each
        assert len({c.text for c in together[:4]}) > 1  # the samples differ
        for i in range(4):
            assert engine.submit(prompt, 6, temperature=1.0, seed=100 + i).result().text == together[i].text
        assert engine.submit([8, 9], 6).result().text == together[4].text
    finally:
        engine.close()


def full_ranking_draw(logits, temperature, generator):
    """Nucleus sampling over the whole vocabulary sorted: what the engine's sampler must reproduce."""
    from teamsrl_graph.models.batching import TOP_P

    ranked, order = (logits / temperature).softmax(-1).sort(descending=True)
    ranked = ranked.masked_fill(ranked.cumsum(-1) - ranked >= TOP_P, 0.0)
    return int(order[torch.multinomial(ranked, 1, generator=generator)])


@pytest.mark.parametrize("spread", [6.0, 0.5])  # a peaked row (nucleus within the top K) and a flat one (ranked in full)
def test_the_nucleus_sampler_draws_what_a_full_ranking_draws(spread):
    from teamsrl_graph.models.batching import NUCLEUS_K, _sample

    torch.manual_seed(1)
    rows = torch.randn(3, 4096) * spread
    mass = (rows[0] / 0.7).softmax(-1).topk(NUCLEUS_K).values.sum()
    assert (mass >= 0.95) == (spread > 1)  # each case takes the path it names
    seeded = lambda seed: torch.Generator().manual_seed(seed)  # noqa: E731
    for seed in range(40):
        batched = _sample(rows, [0.7, 1.0, 0.7], [seeded(seed), seeded(seed + 1), seeded(seed + 2)])
        alone_ = [_sample(row[None], [t], [seeded(seed + i)])[0] for i, (row, t) in enumerate(zip(rows, [0.7, 1.0, 0.7]))]
        full = [full_ranking_draw(row, t, seeded(seed + i)) for i, (row, t) in enumerate(zip(rows, [0.7, 1.0, 0.7]))]
        assert batched == alone_ == full
