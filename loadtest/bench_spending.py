"""Spending forecast serving latency: ``forecast`` on the hot path, beside the pyfunc's ``predict``.

Command: ``.venv/bin/python loadtest/bench_spending.py [--home DIR] [--calls N]`` prints one JSON
object. It loads the newest registered ``nivesh-spending`` version of the home (the configured
``NIVESH_HOME`` by default; with none registered it trains a quick one in a temporary home), builds
the users' ``spending_patterns`` rows as of the model's cut with the feature builder, writes them
to a temporary SQLite online store and binds it. Then, in one process, after a warm-up:

- ``forecast(user_id, 3)`` reading the user's row from the online store: the server's hot path;
- the same with the features passed in, and for 12 months;
- ``PyFuncModel.predict`` on a one-row frame (MLflow's schema enforcement included).

Latencies are p50 / p95 / p99 in milliseconds over ``calls`` different users, wall clock and CPU
time of the process (``_cpu``: on a shared, loaded machine the wall-clock tail is the scheduler's;
the load average is recorded beside). Target: hot path p95 at most 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from nivesh_ml.config import Settings, load_settings
from nivesh_ml.data.nivesh import synthetic_dir
from nivesh_ml.data.synthetic import SyntheticData, generate, read_dataset, read_manifest
from nivesh_ml.features.builders import build_view
from nivesh_ml.features.definitions import get_view
from nivesh_ml.features.online import SQLiteStore
from nivesh_ml.models.common import TrainOptions
from nivesh_ml.models.spending.model import SpendingForecaster
from nivesh_ml.models.spending.train import QUICK_DATA, train
from nivesh_ml.models.transactions import backfilled_sources
from nivesh_ml.tracking.store import client, registered_name

WARM_UP = 50


def bench_spending(home: Path | None = None, calls: int = 2_000) -> dict[str, Any]:
    """Latency figures of the newest registered spending version (see the module docstring)."""
    settings = load_settings(**({"home": home} if home else {}))
    with tempfile.TemporaryDirectory(prefix="nivesh-bench-spending-") as scratch:
        source, version = "registered", newest_version(settings, "spending")
        if version is None:
            settings, source = quick_home(Path(scratch), "spending"), "quick model"
            version = newest_version(settings, "spending")
        assert version is not None
        pyfunc = mlflow.pyfunc.load_model(f"models:/{registered_name('spending')}/{version}")
        model = pyfunc.unwrap_python_model()
        assert isinstance(model, SpendingForecaster)
        view = get_view("spending_patterns")
        rows = _feature_rows(settings, view.name, model.params.cut)
        users = list(rows)[: max(1, min(calls, len(rows)))]
        store = SQLiteStore(Path(scratch) / "online.sqlite")
        store.put_many(view.key, rows, ttl=view.ttl, event_time=datetime.now(UTC))
        model.bind_store(store)
        wanted = [
            f"spend_{c}_{d}d" for c in model.params.categories for d in model.params.config.windows_days
        ]
        frames = [
            pd.DataFrame([{"user_id": u, "horizon_months": 3, **{k: rows[u][k] for k in wanted}}])
            for u in users[:200]
        ]
        figures = {
            "model": f"nivesh-spending v{version} ({source})",
            "users": len(rows),
            "categories": len(model.params.categories),
            "calls": calls,
            "load_average_1m": os.getloadavg()[0],
            "cpus": os.cpu_count() or 0,
            **timed("forecast_store", lambda i: model.forecast(users[i % len(users)], 3), calls),
            **timed(
                "forecast_features",
                lambda i: model.forecast("u", 3, features=rows[users[i % len(users)]]),
                calls,
            ),
            **timed("forecast_12_months", lambda i: model.forecast(users[i % len(users)], 12), calls),
            **timed("pyfunc_predict", lambda i: pyfunc.predict(frames[i % len(frames)]), min(calls, 500)),
        }
        store.close()
    return figures


def newest_version(settings: Settings, model: str) -> str | None:
    """The highest registered version of ``model`` in the home's registry."""
    versions = client(settings).search_model_versions(f"name = '{registered_name(model)}'")
    return max((str(v.version) for v in versions), key=int, default=None)


def quick_home(folder: Path, model: str) -> Settings:
    """A temporary home with a quick model trained (no registered one to measure)."""
    settings = load_settings(home=folder / "var")
    if model == "spending":
        train(settings, TrainOptions(quick=True))
    else:
        from nivesh_ml.models.anomaly.train import train as train_anomaly

        train_anomaly(settings, TrainOptions(quick=True))
    return settings


def synthetic_data(settings: Settings) -> SyntheticData:
    """The home's synthetic data set, or the quick one when the home has none."""
    folder = synthetic_dir(settings)
    if read_manifest(folder) is not None:
        return read_dataset(folder)
    return generate(QUICK_DATA)


def _feature_rows(settings: Settings, view_name: str, as_of: pd.Timestamp) -> dict[str, dict[str, Any]]:
    data = synthetic_data(settings)
    sources = backfilled_sources(data.users, data.accounts, data.transactions)
    frame = build_view(get_view(view_name), sources, as_of).set_index("user_id")
    return {str(user): row for user, row in zip(frame.index, frame.to_dict("records"), strict=True)}


def timed(name: str, call: Callable[[int], Any], calls: int) -> dict[str, float]:
    """Wall-clock and CPU-time percentiles (ms) of ``call`` (a loaded machine cannot inflate CPU time)."""
    for i in range(WARM_UP):
        call(i)
    wall, cpu = np.empty(calls), np.empty(calls)
    for i in range(calls):
        start, start_cpu = time.perf_counter(), time.process_time()
        call(i)
        wall[i], cpu[i] = time.perf_counter() - start, time.process_time() - start_cpu
    figures: dict[str, float] = {}
    for kind, seconds in (("", wall), ("_cpu", cpu)):
        p50, p95, p99 = np.percentile(seconds * 1_000, [50, 95, 99])
        figures |= {f"{name}{kind}_p50_ms": p50, f"{name}{kind}_p95_ms": p95, f"{name}{kind}_p99_ms": p99}
    return {key: round(float(value), 4) for key, value in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="NIVESH_HOME holding the registered model.")
    parser.add_argument("--calls", type=int, default=2_000, help="Timed calls per path.")
    args = parser.parse_args()
    print(json.dumps(bench_spending(args.home, args.calls), indent=2))


if __name__ == "__main__":
    main()
