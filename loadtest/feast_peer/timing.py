"""Latency percentiles, measured the same way by both sides of ``loadtest/bench_feast.py``.

Standard library only: it is imported by the project's venv and by the Feast venv.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["percentile", "time_calls"]

T = TypeVar("T")


def percentile(sorted_ms: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in (0, 1]) of ascending timings."""
    if not sorted_ms:
        raise ValueError("no timings")
    rank = max(1, math.ceil(fraction * len(sorted_ms)))
    return sorted_ms[rank - 1]


def time_calls(read: Callable[[T], object], calls: Sequence[T], warmup: int) -> tuple[float, float]:
    """p50 and p99 (ms, 3 decimals) of ``read(call)`` over ``calls[warmup:]``.

    The first ``warmup`` calls run untimed (connections, caches); a full garbage collection
    runs before the timed calls so neither side pays for the other's setup garbage.
    """
    if len(calls) <= warmup:
        raise ValueError(f"need more than {warmup} calls, got {len(calls)}")
    for call in calls[:warmup]:
        read(call)
    gc.collect()
    timings: list[float] = []
    for call in calls[warmup:]:
        started = time.perf_counter()
        read(call)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return round(percentile(timings, 0.50), 3), round(percentile(timings, 0.99), 3)
