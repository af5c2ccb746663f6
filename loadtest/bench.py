"""`make bench`: run every benchmark and append its figures to docs/BENCHMARKS.md.

Each benchmark owns a table in BENCHMARKS.md between ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->``; a run appends one row (date, machine, figures), so the file
keeps the history. Run one with ``python loadtest/bench.py generator``.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_feast import bench_feast
from bench_features import bench_features
from bench_generator import bench_generator
from bench_online import bench_online

Rows = list[list[str]]

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def _generator_rows() -> Rows:
    figures = bench_generator()
    return [
        [
            f"{figures['users']:,} x {figures['months']}",
            f"{figures['transactions']:,}",
            f"{figures['seconds_generate']:.1f}",
            f"{figures['seconds_write']:.1f}",
            f"{figures['peak_rss_mb']:,.0f}",
        ]
    ]


def _online_rows() -> Rows:
    rows: Rows = []
    for backend in ("redis", "sqlite"):
        f = bench_online(backend)
        rows.append(
            [
                backend,
                f"{f['users']:,} x {f['features']}",
                f"{f['get_1_p50_ms']:.3f} / {f['get_1_p99_ms']:.3f}",
                f"{f['get_many_100_p50_ms']:.2f} / {f['get_many_100_p99_ms']:.2f}",
                f"{f['get_many_1000_p50_ms']:.1f} / {f['get_many_1000_p99_ms']:.1f}",
                f"{f['put_many_rows_per_s']:,.0f}",
            ]
        )
    return rows


def _features_rows() -> Rows:
    f = bench_features()
    return [
        [
            f"{f['users']:,} x {f['months']}",
            f"{f['transactions']:,}",
            f"{f['seconds_build_all_views']:.1f}",
            f"{f['redis_seconds_materialize_full']:.1f} ({f['redis_rows_per_s']:,} rows/s)",
            f"{f['redis_seconds_materialize_incremental']:.1f}",
            f"{f['sqlite_seconds_materialize_full']:.1f} ({f['sqlite_rows_per_s']:,} rows/s)",
            f"{f['sqlite_seconds_materialize_incremental']:.1f}",
        ]
    ]


def _feast_rows() -> Rows:
    f = bench_feast()
    return [
        [
            f"{f['users']:,} x {f['features']}",
            f"feast {f['feast_version']}",
            f"{f['ours_redis_1_p50_ms']:.3f} / {f['ours_redis_1_p99_ms']:.3f}",
            f"{f['feast_1_p50_ms']:.3f} / {f['feast_1_p99_ms']:.3f}",
            f"{f['ours_redis_100_p50_ms']:.2f} / {f['ours_redis_100_p99_ms']:.2f}",
            f"{f['feast_100_p50_ms']:.2f} / {f['feast_100_p99_ms']:.2f}",
            f"{f['ratio_p99_1']:.1f}x / {f['ratio_p99_100']:.1f}x",
        ]
    ]


BENCHES: dict[str, Callable[[], Rows]] = {
    "generator": _generator_rows,
    "online": _online_rows,
    "features": _features_rows,
    "feast": _feast_rows,
}


def machine() -> str:
    """A short description of this machine: CPU model, cores, memory."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = found.group(1).strip() if found else model
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB"


def append_row(text: str, name: str, cells: list[str]) -> str:
    """Insert a table row just before the ``<!-- /bench:NAME -->`` marker."""
    end = f"<!-- /bench:{name} -->"
    if end not in text:
        raise SystemExit(f"bench: {BENCHMARKS_MD} has no '{end}' marker; restore the section for '{name}'")
    row = "| " + " | ".join(cells) + " |\n"
    return text.replace(end, row + end, 1)


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all when none is named) and record them."""
    names = argv or list(BENCHES)
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        print(f"bench: unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    for name in names:
        print(f"bench: running {name} ...", file=sys.stderr)
        for row in BENCHES[name]():
            cells = [stamp, machine(), *row]
            BENCHMARKS_MD.write_text(append_row(BENCHMARKS_MD.read_text(), name, cells))
            print(f"bench: {name}: {' | '.join(cells)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
