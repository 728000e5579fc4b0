"""Timing that survives a noisy laptop: warm-up, repeats and percentiles.

A single wall-clock reading mixes the work with one-off costs (graph tracing,
caches filling, the allocator growing). Systems engineers therefore warm up,
repeat, and report the distribution -- the median for "typical", the p95/p99
tail for what users and SLOs feel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm


@dataclass(frozen=True)
class Timing:
    """Seconds per call of each timed repeat, with the statistics labs report."""

    seconds: tuple[float, ...]
    items_per_call: int = 1

    def percentile(self, q: float) -> float:
        """The q-th percentile (0-100) of the seconds per call."""
        return float(np.percentile(self.seconds, q))

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def mean(self) -> float:
        return float(np.mean(self.seconds))

    @property
    def throughput(self) -> float:
        """Items per second at the median call time."""
        return self.items_per_call / self.p50

    def __str__(self) -> str:
        return (
            f"p50 {self.p50 * 1e3:.2f} ms, p95 {self.p95 * 1e3:.2f} ms, p99 {self.p99 * 1e3:.2f} ms "
            f"over {len(self.seconds)} repeats ({self.throughput:,.0f} items/s)"
        )


def time_it(
    fn: Callable[[], object],
    *,
    warmup: int = 2,
    repeats: int = 10,
    items_per_call: int = 1,
    progress: str | None = None,
) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times timed.

    ``items_per_call`` turns call times into a throughput (samples, requests...).
    ``progress`` names a progress bar to show while timing; None shows none.
    """
    if warmup < 0 or repeats < 1:
        raise ValueError(f"need warmup >= 0 and repeats >= 1, got warmup={warmup}, repeats={repeats}")
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in tqdm(range(repeats), desc=progress, disable=progress is None, leave=False):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return Timing(tuple(seconds), items_per_call)


def speedups(timings: dict[str, Timing], baseline: str) -> dict[str, float]:
    """Throughput of each timing relative to ``baseline`` (1.0 = same speed)."""
    base = timings[baseline].throughput
    return {name: t.throughput / base for name, t in timings.items()}


def summarize(timings: dict[str, Timing], baseline: str) -> Sequence[str]:
    """One printable line per timing, with its speed-up over the baseline."""
    ratio = speedups(timings, baseline)
    width = max(map(len, timings))
    return [
        f"{name:<{width}}  {t.throughput:>12,.0f} items/s  x{ratio[name]:.2f}  ({t})" for name, t in timings.items()
    ]
