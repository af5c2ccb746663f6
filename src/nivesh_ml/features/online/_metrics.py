"""Store statistics (in-process) and Prometheus collectors per registry."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)
LATENCY_WINDOW = 10_000  # reads kept for the p50/p99 of stats()


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counts since the store was made (rows, not calls) and read latency over recent calls.

    ``read_p50_ms``/``read_p99_ms`` cover the last ``LATENCY_WINDOW`` get/get_many calls;
    both are 0.0 before the first read.
    """

    hits: int
    misses: int
    expired: int
    writes: int
    deletes: int
    errors: int
    read_p50_ms: float
    read_p99_ms: float

    @property
    def hit_rate(self) -> float:
        """Share of rows asked for that were present and fresh (0.0 before any read)."""
        reads = self.hits + self.misses + self.expired
        return self.hits / reads if reads else 0.0


_COLLECTORS: WeakKeyDictionary[CollectorRegistry, tuple[Counter, Histogram]] = WeakKeyDictionary()
_COLLECTORS_LOCK = threading.Lock()


def _collectors(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    # One pair per registry: several stores may share the model server's registry.
    with _COLLECTORS_LOCK:
        if registry not in _COLLECTORS:
            requests = Counter(
                "nivesh_feature_store_requests",
                "Online feature store rows read (hit/miss/expired), written, deleted, and failed calls.",
                ["backend", "op", "result"],
                registry=registry,
            )
            latency = Histogram(
                "nivesh_feature_store_latency_seconds",
                "Online feature store call latency.",
                ["backend", "op"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            )
            _COLLECTORS[registry] = (requests, latency)
        return _COLLECTORS[registry]


class StoreMetrics:
    """A store's in-process counters and its Prometheus series (on ``registry``)."""

    def __init__(self, backend: str, registry: CollectorRegistry) -> None:
        self._backend = backend
        self._requests, self._latency = _collectors(registry)
        self._lock = threading.Lock()
        self._totals = dict.fromkeys(("hit", "miss", "expired", "write", "delete", "error"), 0)
        self._read_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def read(self, op: str, seconds: float, hits: int, misses: int, expired: int) -> None:
        """Record a get/get_many call."""
        self._count(op, {"hit": hits, "miss": misses, "expired": expired})
        self._latency.labels(self._backend, op).observe(seconds)
        with self._lock:
            self._read_ms.append(seconds * 1000)

    def changed(self, op: str, result: str, seconds: float, rows: int) -> None:
        """Record a write (``result="write"``) or delete (``"delete"``) of ``rows`` rows."""
        self._count(op, {result: rows})
        self._latency.labels(self._backend, op).observe(seconds)

    def failed(self, op: str) -> None:
        """Record a call the backend could not answer."""
        self._count(op, {"error": 1})

    def snapshot(self) -> StoreStats:
        """The counters now, and p50/p99 of the recent reads."""
        with self._lock:
            totals = dict(self._totals)
            recent = sorted(self._read_ms)
        return StoreStats(
            hits=totals["hit"],
            misses=totals["miss"],
            expired=totals["expired"],
            writes=totals["write"],
            deletes=totals["delete"],
            errors=totals["error"],
            read_p50_ms=_percentile(recent, 0.50),
            read_p99_ms=_percentile(recent, 0.99),
        )

    def _count(self, op: str, results: Mapping[str, int]) -> None:
        for result, count in results.items():
            if count:
                self._requests.labels(self._backend, op, result).inc(count)
        with self._lock:
            for result, count in results.items():
                self._totals[result] += count


def _percentile(ordered: Sequence[float], share: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]
