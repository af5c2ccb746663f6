"""`make bench`: run every benchmark and append its figures to docs/BENCHMARKS.md.

Each benchmark owns a table in BENCHMARKS.md between ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->``; a run appends one row per figure set (date, machine, figures), so the
file keeps the history. Run some with ``python loadtest/bench.py --only drift`` (repeatable; a bare
name works too: ``python loadtest/bench.py generator``). A benchmark that fails is reported and
the others still run; the exit code is then 1.

The model benchmarks measure the registered champions of the configured ``NIVESH_HOME``
(intent: the base model with a fresh head when none is given; spending, anomaly and credit risk
train a quick model in a temporary home when none is registered; NER and the assistant need
theirs trained first). Each benchmark module is imported only when it runs: the heavy stacks
(torch, spaCy, locust) load only for their own benchmark. Benchmarks in ``OPT_IN`` (the
ten-minute ``soak``) run only when named.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

Rows = list[list[str]]

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"


def _generator_rows() -> Rows:
    from bench_generator import bench_generator

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
    from bench_online import bench_online

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
    from bench_features import bench_features

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
    from bench_feast import bench_feast

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


def _pair(figures: Mapping[str, Any], prefix: str) -> str:
    """``p50 / p95`` (ms) of ``prefix`` in a benchmark's figures."""
    return " / ".join(f"{float(figures[f'{prefix}_{tail}_ms']):.2f}" for tail in ("p50", "p95"))


def _intent_rows() -> Rows:
    from bench_intent import bench_intent

    f = bench_intent()
    paths = ("onnx_int8_1t", "onnx_fp32_1t", "torch_fp32_1t", "onnx_int8_2t")
    sizes = f"{f['onnx_int8_mb']:.0f} / {f['onnx_fp32_mb']:.0f}"
    row = _latency_row(f, [f"{f['queries']:,}"], paths)
    return [[*row[:-1], sizes, row[-1]]]


def _ner_rows() -> Rows:
    from bench_ner import bench_ner

    f = bench_ner()
    return [
        [
            f"v{f['model_version']}",
            f"{f['sentences']:,} x {f['calls'] // max(1, f['sentences'])}",
            f"{f['p50_ms']:.2f} / {f['p95_ms']:.2f} / {f['p99_ms']:.2f}",
            f"{f['cpu_p50_ms']:.2f} / {f['cpu_p95_ms']:.2f}",
            f"{f['batch_sentences_per_s']:,.0f}",
            f"{f['load_average_1m']:.1f}",
        ]
    ]


def _latency_row(figures: Mapping[str, Any], head: list[str], paths: tuple[str, ...]) -> list[str]:
    """``head``, then p50 / p95 of each timed path, then the load average."""
    return [*head, *(_pair(figures, path) for path in paths), f"{figures['load_average_1m']:.1f}"]


def _serving_bench(
    name: str, head: Callable[[Mapping[str, Any]], list[str]], paths: tuple[str, ...]
) -> Callable[[], Rows]:
    """The rows of ``loadtest/bench_<name>.py``'s ``bench_<name>()``: one model's hot-path latencies."""

    def rows() -> Rows:
        figures = getattr(importlib.import_module(f"bench_{name}"), f"bench_{name}")()
        return [_latency_row(figures, head(figures), paths)]

    return rows


def _assistant_rows() -> Rows:
    from bench_assistant import bench_assistant

    f = bench_assistant()
    variants = ("merged_bf16", "merged_fp32", "adapter_bf16", "no_kv_cache", "threads_2")
    return [
        [
            str(f["requests"]),
            *(f"{f[name]['p50_ms'] / 1000:.2f} / {f[name]['p95_ms'] / 1000:.2f}" for name in variants),
        ]
    ]


def _server_rows() -> Rows:
    from bench_server import bench_server

    f = bench_server()
    ours, peer = f["nivesh"], f["mlflow"]["mlflow /invocations"]

    def cell(route: Mapping[str, Any]) -> str:
        return f"{route['rps']:,.0f} req/s, p50 {route['p50_ms']:.0f} / p99 {route['p99_ms']:.0f} ms"

    return [
        [
            f"{f['clients']} x {f['seconds']} s",
            cell(ours["credit-risk (features)"]),
            cell(ours["credit-risk (user_id)"]),
            cell(ours["health"]),
            cell(peer),
        ]
    ]


def _drift_rows() -> Rows:
    from bench_drift import bench_drift

    return [
        [
            f"{f['predictions']:,}",
            f"{f['db_mb']:,.0f}",
            f"{f['seconds_total']:.1f}",
            f"{f['seconds_reference']:.1f}",
            f"{f['seconds_db_read']:.1f}",
            f"{f['seconds_evidently']:.1f}",
            f"{f['seconds_rest']:.1f}",
            f"{f['peak_rss_mb']:,.0f}",
            f"{len(f['drifted'])} of {f['columns']}",
            f"{f['load_average_1m']:.1f}",
        ]
        for f in bench_drift()
    ]


def _pii_rows() -> Rows:
    from pii_peer import bench_pii_peer

    f = bench_pii_peer()
    return [
        [
            name,
            f"{f['positives']} / {f['negatives']}",
            *(f"{d[figure]:.3f}" for figure in ("precision", "recall", "f1")),
            f"{d['us_per_text']:,.0f}",
        ]
        for name, d in f["detectors"].items()
    ]


def _soak_rows() -> Rows:
    from soak import parse, soak, summary_row

    from nivesh_ml.config import load_settings

    return [summary_row(soak(load_settings().home, parse([])))]


BENCHES: dict[str, Callable[[], Rows]] = {
    "generator": _generator_rows,
    "online": _online_rows,
    "features": _features_rows,
    "feast": _feast_rows,
    "intent": _intent_rows,
    "ner": _ner_rows,
    "spending": _serving_bench(
        "spending",
        lambda f: [f["model"], f"{f['users']:,}"],
        ("forecast_store", "forecast_store_cpu", "forecast_12_months", "pyfunc_predict"),
    ),
    "anomaly": _serving_bench(
        "anomaly",
        lambda f: [f["model"], f"{f['calls']:,}"],
        ("score_store_context", "score_store_context_cpu", "score_features", "pyfunc_predict"),
    ),
    "credit_risk": _serving_bench(
        "credit_risk",
        lambda f: [f["model"], f"{f['trees']} x {f['features']}"],
        ("hot_path", "hot_path_cpu", "hot_path_no_reasons_cpu", "pyfunc_predict"),
    ),
    "assistant": _assistant_rows,
    "server": _server_rows,
    "drift": _drift_rows,
    "pii": _pii_rows,
    "soak": _soak_rows,
}
OPT_IN = {"soak"}  # too long for every `make bench`: run with --only


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
    parser = argparse.ArgumentParser(description="Run benchmarks and record them in docs/BENCHMARKS.md.")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHES)}")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="run this one (repeatable)"
    )
    args = parser.parse_args(argv)
    names = [*args.names, *args.only] or [name for name in BENCHES if name not in OPT_IN]
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        print(f"bench: unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    failed = []
    for name in names:
        print(f"bench: running {name} ...", file=sys.stderr)
        try:
            rows = BENCHES[name]()
        except Exception:  # one broken benchmark must not cost the others their rows
            traceback.print_exc()
            print(f"bench: {name} failed; nothing recorded for it", file=sys.stderr)
            failed.append(name)
            continue
        for row in rows:
            cells = [stamp, machine(), *row]
            BENCHMARKS_MD.write_text(append_row(BENCHMARKS_MD.read_text(), name, cells))
            print(f"bench: {name}: {' | '.join(cells)}", file=sys.stderr)
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
