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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_generator import bench_generator

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def _generator_row() -> list[str]:
    figures = bench_generator()
    return [
        f"{figures['users']:,} x {figures['months']}",
        f"{figures['transactions']:,}",
        f"{figures['seconds_generate']:.1f}",
        f"{figures['seconds_write']:.1f}",
        f"{figures['peak_rss_mb']:,.0f}",
    ]


BENCHES: dict[str, Callable[[], list[str]]] = {"generator": _generator_row}


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
        cells: list[Any] = [stamp, machine(), *BENCHES[name]()]
        BENCHMARKS_MD.write_text(append_row(BENCHMARKS_MD.read_text(), name, cells))
        print(f"bench: {name}: {' | '.join(cells)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
