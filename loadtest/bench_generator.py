"""Benchmark of the synthetic data generator: generate + write, time and peak memory.

Run ``python loadtest/bench_generator.py [--users N] [--months M] [--seed S]``; it prints one
JSON object: users, months, transactions, seconds_generate, seconds_write, peak_rss_mb.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nivesh_ml.data.synthetic import GeneratorConfig, generate, write_dataset

__all__ = ["bench_generator"]


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def bench_generator(users: int = 10_000, months: int = 24, seed: int = 42) -> dict[str, Any]:
    """Generate ``users`` x ``months`` and write it into a temporary folder; return the timings."""
    config = GeneratorConfig(users=users, months=months, seed=seed)
    started = time.perf_counter()
    data = generate(config)
    generated = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nivesh-bench-") as tmp:
        write_dataset(data, Path(tmp) / "synthetic")
        written = time.perf_counter()
    return {
        "users": users,
        "months": months,
        "transactions": len(data.transactions),
        "seconds_generate": round(generated - started, 2),
        "seconds_write": round(written - generated, 2),
        "peak_rss_mb": _peak_rss_mb(),
    }


def main() -> None:
    """Parse the command line, run the benchmark, print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(json.dumps(bench_generator(args.users, args.months, args.seed)))


if __name__ == "__main__":
    main()
