"""Benchmark of the feature store's batch side: build all views, materialise them online.

Run ``python loadtest/bench_features.py [--users N] [--months M]``; it prints one JSON object:
the seconds to build all three views as of the latest instant (one shared cut), and for each
online backend the seconds and rows/s of a full materialisation of every view, and the seconds
of an incremental one right after (nothing changed).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from nivesh_ml.config import load_settings
from nivesh_ml.data.synthetic import GeneratorConfig, generate
from nivesh_ml.features.builders import SourceFrames, build_views
from nivesh_ml.features.definitions import FEATURE_VIEWS
from nivesh_ml.features.materialize import materialize
from nivesh_ml.features.offline import OfflineStore, default_snapshot_times
from nivesh_ml.features.online import make_online_store

__all__ = ["bench_features"]

REDIS_URL = "redis://127.0.0.1:6379/0"


def bench_features(users: int = 10_000, months: int = 24) -> dict[str, Any]:
    """Build every view for ``users`` x ``months`` of synthetic data, then materialise it twice."""
    sources = SourceFrames.from_synthetic(generate(GeneratorConfig(users=users, months=months)))
    as_of = default_snapshot_times(sources.transactions, count=1)[-1]
    started = time.perf_counter()
    frames = build_views(FEATURE_VIEWS, sources, as_of)
    figures: dict[str, Any] = {
        "users": users,
        "months": months,
        "transactions": len(sources.transactions),
        "seconds_build_all_views": round(time.perf_counter() - started, 2),
    }
    with tempfile.TemporaryDirectory(prefix="nivesh-bench-") as tmp:
        offline = OfflineStore(Path(tmp) / "features")
        for view in FEATURE_VIEWS:
            offline.write_snapshot(view, frames[view.name], source_version="bench")
        for backend in ("redis", "sqlite"):
            figures |= _materialize_twice(Path(tmp), backend, users)
    return figures


def _materialize_twice(home: Path, backend: str, users: int) -> dict[str, Any]:
    prefix = f"nivesh:bench:{uuid.uuid4().hex[:12]}"
    settings = load_settings(_env_file=None, home=home, online_store=backend, redis_key_prefix=prefix)
    online = make_online_store(settings)
    try:
        started = time.perf_counter()
        materialize(settings, online, full=True)
        full = time.perf_counter() - started
        started = time.perf_counter()
        materialize(settings, online)
        incremental = time.perf_counter() - started
    finally:
        online.close()
        if backend == "redis":
            _unlink_prefix(prefix)
    rows = users * len(FEATURE_VIEWS)
    return {
        f"{backend}_seconds_materialize_full": round(full, 2),
        f"{backend}_rows_per_s": round(rows / full),
        f"{backend}_seconds_materialize_incremental": round(incremental, 2),
    }


def _unlink_prefix(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1_000))
        for start in range(0, len(keys), 1_000):
            client.unlink(*keys[start : start + 1_000])
    finally:
        client.close()


def main() -> None:
    """Parse the command line, run the benchmark, print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    args = parser.parse_args()
    print(json.dumps(bench_features(args.users, args.months)))


if __name__ == "__main__":
    main()
