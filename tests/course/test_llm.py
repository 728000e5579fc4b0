"""Lab 7's helpers: the corpus, byte tokens, training windows, model shapes and the request trace."""

from __future__ import annotations

import numpy as np
import pytest

from course import llm


def test_the_corpus_is_the_course_readings_split_into_train_and_heldout():
    corpus = llm.load_corpus()
    assert corpus.sources and all(name.endswith(".md") and not name.startswith("lab07") for name in corpus.sources)
    assert corpus.train.dtype == np.int32 and corpus.heldout.dtype == np.int32
    assert 0 <= corpus.train.min() and corpus.train.max() < llm.VOCAB_SIZE
    share = len(corpus.heldout) / (len(corpus.train) + len(corpus.heldout))
    assert 0.08 < share < 0.12
    again = llm.load_corpus()
    np.testing.assert_array_equal(corpus.train, again.train)


def test_heldout_fraction_must_be_a_share():
    with pytest.raises(ValueError):
        llm.load_corpus(1.0)


def test_bytes_round_trip_including_non_ascii():
    text = "KV cache — 128 KiB per token, 5 µs"
    tokens = llm.encode(text)
    assert tokens.dtype == np.int32 and len(tokens) == len(text.encode("utf-8"))
    assert llm.decode(tokens) == text
    assert llm.decode(list(tokens)) == text
    assert llm.decode([0xE2]) == "\ufffd"


def test_training_windows_are_shifted_by_one_and_seeded():
    tokens = np.arange(1000)
    x, y = llm.training_windows(tokens, 16, 50, seed=3)
    assert x.shape == y.shape == (50, 16) and x.dtype == np.int32
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(llm.training_windows(tokens, 16, 50, seed=3)[0], x)
    assert not np.array_equal(llm.training_windows(tokens, 16, 50, seed=4)[0], x)
    with pytest.raises(ValueError):
        llm.training_windows(np.arange(10), 16, 1, seed=0)


def test_model_shapes_are_the_published_ones():
    s8, s70 = llm.MODEL_SHAPES["llama3_8b"], llm.MODEL_SHAPES["llama3_70b"]
    assert (s8.n_layers, s8.d_model, s8.n_heads, s8.n_kv_heads, s8.head_dim, s8.vocab_size) == (
        32,
        4096,
        32,
        8,
        128,
        128256,
    )
    assert (s70.n_layers, s70.d_model, s70.n_heads, s70.n_kv_heads, s70.head_dim) == (80, 8192, 64, 8, 128)
    for shape in (s8, s70):
        assert shape.n_heads * shape.head_dim == shape.d_model
        assert shape.source.startswith("https://")


def test_the_request_trace_is_seeded_sorted_and_bounded():
    trace = llm.request_trace(500, 10.0, seed=7, mean_prompt=100, mean_output=50, max_tokens=400)
    assert len(trace) == 500 and trace.arrival_s[0] == 0.0
    assert np.all(np.diff(trace.arrival_s) >= 0)
    assert (
        trace.arrival_s.dtype == np.float64
        and trace.prompt_tokens.dtype == np.int64
        and trace.output_tokens.dtype == np.int64
    )
    assert trace.output_tokens.min() >= 2 and trace.prompt_tokens.max() <= 400
    assert 8 < 500 / trace.arrival_s[-1] < 12, "the arrival rate is about rate_per_s"
    assert 80 < trace.prompt_tokens.mean() < 120 and 40 < trace.output_tokens.mean() < 60
    again = llm.request_trace(500, 10.0, seed=7, mean_prompt=100, mean_output=50, max_tokens=400)
    np.testing.assert_array_equal(trace.output_tokens, again.output_tokens)
    with pytest.raises(ValueError):
        llm.request_trace(0, 1.0, seed=0)


def test_blas_threads_can_be_limited_and_restored():
    from threadpoolctl import threadpool_info

    before = llm.limit_blas_threads(1)
    try:
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    finally:
        if before:
            llm.limit_blas_threads(before)
