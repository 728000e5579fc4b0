"""Tests for course.measure. Statistics are checked on synthetic Timing objects,
never on how fast this machine happens to be."""

from __future__ import annotations

import time

import numpy as np
import pytest

import course.measure
from course.measure import Timing, speedups, summarize, time_it

SECONDS = (0.010, 0.012, 0.011, 0.030, 0.009, 0.050, 0.010, 0.013, 0.011, 0.100)


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1


# --- time_it -----------------------------------------------------------------


@pytest.mark.parametrize(("warmup", "repeats"), [(0, 1), (2, 10), (5, 3)])
def test_time_it_calls_warmup_plus_repeats(warmup, repeats):
    fn = Counter()
    timing = time_it(fn, warmup=warmup, repeats=repeats)
    assert fn.calls == warmup + repeats
    assert len(timing.seconds) == repeats


def test_time_it_times_only_the_repeats(monkeypatch):
    # A fake clock: call k advances it by k seconds, so each recorded time
    # names the call it measured.
    clock = [0.0]
    calls = []

    def fn():
        calls.append(None)
        clock[0] += len(calls)

    monkeypatch.setattr(course.measure.time, "perf_counter", lambda: clock[0])
    timing = time_it(fn, warmup=2, repeats=3)
    assert timing.seconds == (3.0, 4.0, 5.0)


def test_time_it_measures_at_least_the_work():
    pause = 0.002
    timing = time_it(lambda: time.sleep(pause), warmup=0, repeats=3)
    assert all(s >= pause for s in timing.seconds)


def test_time_it_keeps_items_per_call():
    assert time_it(Counter(), warmup=0, repeats=2, items_per_call=32).items_per_call == 32


@pytest.mark.parametrize(("warmup", "repeats"), [(-1, 10), (0, 0), (2, -3)])
def test_time_it_rejects_bad_counts(warmup, repeats):
    fn = Counter()
    with pytest.raises(ValueError):
        time_it(fn, warmup=warmup, repeats=repeats)
    assert fn.calls == 0


# --- Timing statistics -------------------------------------------------------


def test_percentiles_match_numpy():
    t = Timing(SECONDS)
    for q, value in ((50, t.p50), (95, t.p95), (99, t.p99)):
        assert value == pytest.approx(np.percentile(SECONDS, q))
    assert t.mean == pytest.approx(np.mean(SECONDS))


def test_percentiles_are_ordered():
    t = Timing(SECONDS)
    assert min(SECONDS) <= t.p50 <= t.p95 <= t.p99 <= max(SECONDS)
    assert t.p50 < t.p99  # a tail this heavy must show


def test_throughput_is_items_per_median_call():
    t = Timing((0.5, 0.25, 1.0), items_per_call=10)  # median 0.5 s
    assert t.throughput == pytest.approx(20.0)


def test_str_reports_median_in_ms():
    assert "p50 500.00 ms" in str(Timing((0.5, 0.25, 1.0)))


# --- speedups and summarize --------------------------------------------------


@pytest.fixture
def timings():
    return {
        "baseline": Timing((0.2, 0.2, 0.2), items_per_call=4),
        "twice_as_fast": Timing((0.1, 0.1, 0.1), items_per_call=4),
        "bigger_batch": Timing((0.2, 0.2, 0.2), items_per_call=12),  # same time, 3x the items
        "slow": Timing((0.8, 0.8, 0.8), items_per_call=4),
    }


def test_speedups_relative_to_baseline(timings):
    ratio = speedups(timings, "baseline")
    assert ratio == pytest.approx({"baseline": 1.0, "twice_as_fast": 2.0, "bigger_batch": 3.0, "slow": 0.25})


def test_speedups_follow_the_chosen_baseline(timings):
    ratio = speedups(timings, "twice_as_fast")
    assert ratio["twice_as_fast"] == pytest.approx(1.0)
    assert ratio["baseline"] == pytest.approx(0.5)


def test_speedups_unknown_baseline_raises(timings):
    with pytest.raises(KeyError):
        speedups(timings, "missing")


def test_summarize_one_line_per_timing(timings):
    lines = summarize(timings, "baseline")
    assert len(lines) == len(timings)
    expected = {"baseline": "x1.00", "twice_as_fast": "x2.00", "bigger_batch": "x3.00", "slow": "x0.25"}
    for line, (name, ratio) in zip(lines, expected.items()):
        assert line.startswith(name)
        assert ratio in line
        assert "\n" not in line
