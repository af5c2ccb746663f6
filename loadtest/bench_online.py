"""Online feature store benchmark: write and read throughput of SQLite and Redis.

Fills a store with ``users`` rows of ``features`` realistic features (counts, amounts,
ratios, category strings), writing in batches of 1,000 as materialisation does, then times
``get`` of one user and ``get_many`` of 100 and of 1,000 random users. Run it with
``python loadtest/bench_online.py [sqlite|redis ...]``; it prints one JSON object per backend.
Redis runs under a unique key prefix, unlinked at the end.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from nivesh_ml.config import load_settings
from nivesh_ml.features.online import OnlineStore, RedisStore, SQLiteStore, ViewKey

VIEW = ViewKey("user_financial_profile", 1)
WRITE_BATCH = 1_000
CATEGORIES = ("food", "rent", "travel", "shopping", "utilities", "emi", "health", "education")


def make_rows(users: int, features: int, seed: int = 42) -> dict[str, dict[str, Any]]:
    """``users`` rows keyed ``user-000001``...: a third ints, a third floats, a third strings."""
    rng = random.Random(seed)
    rows: dict[str, dict[str, Any]] = {}
    for user in range(users):
        row: dict[str, Any] = {}
        for index in range(features):
            kind = index % 3
            if kind == 0:
                row[f"count_{index}"] = rng.randint(0, 500)
            elif kind == 1:
                row[f"amount_{index}"] = round(rng.lognormvariate(8, 1.2), 2)
            else:
                row[f"category_{index}"] = rng.choice(CATEGORIES)
        rows[f"user-{user:06d}"] = row
    return rows


def bench_online(backend: str, users: int = 10_000, features: int = 40, reads: int = 2_000) -> dict[str, Any]:
    """Figures for one backend: put_many rows/s, and p50/p99 (ms) of get and get_many.

    ``reads`` calls time ``get``; a tenth as many (at least 50) time ``get_many`` of 100
    users, a hundredth (at least 20) ``get_many`` of 1,000.
    """
    rows = make_rows(users, features)
    ids = list(rows)
    rng = random.Random(7)
    with _store(backend) as store:
        seconds = _fill(store, rows)
        figures: dict[str, Any] = {
            "backend": backend,
            "users": users,
            "features": features,
            "put_many_rows_per_s": round(users / seconds),
        }
        cases: list[tuple[str, int, int]] = [
            ("get_1", 1, reads),
            ("get_many_100", 100, max(50, reads // 10)),
            ("get_many_1000", 1_000, max(20, reads // 100)),
        ]
        for name, size, calls in cases:
            batches = [rng.sample(ids, size) for _ in range(calls)]
            p50, p99 = _time_calls(_reader(store, size), batches)
            figures[f"{name}_p50_ms"], figures[f"{name}_p99_ms"] = p50, p99
        stats = store.stats()
        figures["hit_rate"] = stats.hit_rate
    return figures


def _reader(store: OnlineStore, size: int) -> Callable[[list[str]], object]:
    if size == 1:
        return lambda batch: store.get(VIEW, batch[0])
    return lambda batch: store.get_many(VIEW, batch)


def _fill(store: OnlineStore, rows: dict[str, dict[str, Any]]) -> float:
    items = list(rows.items())
    started = time.perf_counter()
    for start in range(0, len(items), WRITE_BATCH):
        batch = dict(items[start : start + WRITE_BATCH])
        store.put_many(VIEW, batch, ttl=timedelta(days=1), event_time=datetime.now(UTC))
    return time.perf_counter() - started


def _time_calls(read: Callable[[list[str]], object], batches: list[list[str]]) -> tuple[float, float]:
    for batch in batches[:10]:  # warm up connections and statement caches
        read(batch)
    timings: list[float] = []
    for batch in batches:
        started = time.perf_counter()
        read(batch)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return round(timings[len(timings) // 2], 3), round(
        timings[min(len(timings) - 1, int(len(timings) * 0.99))], 3
    )


@contextmanager
def _store(backend: str) -> Iterator[OnlineStore]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="nivesh-bench-") as folder:
            store = SQLiteStore(Path(folder) / "online.sqlite")
            try:
                yield store
            finally:
                store.close()
    elif backend == "redis":
        url = load_settings().redis_url
        prefix = f"nivesh:bench:{uuid.uuid4().hex[:12]}"
        store = RedisStore(url, prefix=prefix, timeout_s=5.0)
        try:
            yield store
        finally:
            store.close()
            _unlink_prefix(url, prefix)
    else:
        raise SystemExit(f"bench_online: unknown backend {backend!r}; choose sqlite or redis")


def _unlink_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1_000))
        for start in range(0, len(keys), 1_000):
            client.unlink(*keys[start : start + 1_000])
    finally:
        client.close()


def main(argv: list[str]) -> int:
    """Benchmark the named backends (both when none is named), one JSON object a line."""
    for backend in argv or ["sqlite", "redis"]:
        print(json.dumps(bench_online(backend)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
