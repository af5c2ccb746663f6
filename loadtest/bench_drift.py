"""Drift check cost: ``check_drift`` over 100,000 and 1,000,000 logged predictions.

Command: ``.venv/bin/python loadtest/bench_drift.py [--sizes 100000 1000000]`` prints one JSON
object per size. For each size, in a temporary ``NIVESH_HOME`` (embedded MLflow, SQLite app DB):

1. registers a ``nivesh-credit-risk`` champion whose training run logged a drift reference of
   ``REFERENCE_ROWS`` (50,000) rows of the ``user_financial_profile`` features (26 columns: 12
   floats, 13 counts, 1 flag), drawn from fixed distributions;
2. logs ``size`` predictions of the last six days into the app DB's ``model_prediction`` table,
   each with ``input_data = {"features": {...}}`` (the same 26 features; three of them shifted,
   so the check finds drift), in bulk inserts (setup, not timed as part of the check);
3. in a fresh process (so its peak RSS is the check's own), runs ``check_drift(settings,
   "credit-risk", 7 days)`` once and times its parts: the reference download, the DB read
   (``current_features``), the Evidently comparison and the rest (HTML report, JSON, MLflow run).

Peak RSS is the checking process's maximum resident set (imports included; ``rss_after_imports``
is the floor); the 1-minute load average is taken when the check ends. Target: 1M predictions
checked in under 60 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nivesh_ml.config import OFFLINE_ENV, Settings, load_settings

SIZES = (100_000, 1_000_000)
WINDOW = timedelta(days=7)
MODEL = "credit-risk"
SHIFTED = ("credit_utilisation", "late_payments_3m", "monthly_income")
_CHUNK = 20_000


def profile_frame(rows: int, seed: int, shifted: bool = False) -> pd.DataFrame:
    """``rows`` of the user_financial_profile features from fixed distributions (``shifted``: drifted)."""
    from nivesh_ml.features.definitions import get_view

    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for name, dtype in get_view("user_financial_profile").dtypes.items():
        if dtype == "float64":
            columns[name] = rng.lognormal(mean=10.0, sigma=0.6, size=rows)
        elif dtype == "int64":
            columns[name] = rng.poisson(2.0, size=rows).astype(np.int64)
        else:
            columns[name] = rng.random(rows) < 0.6
    frame = pd.DataFrame(columns)
    frame["credit_utilisation"] = rng.beta(2.0, 5.0, size=rows)
    if shifted:
        frame["credit_utilisation"] = np.clip(frame["credit_utilisation"] + 0.15, 0.0, 1.0)
        frame["late_payments_3m"] = rng.poisson(3.0, size=rows).astype(np.int64)
        frame["monthly_income"] = frame["monthly_income"] * 0.8
    return frame


def register_champion(settings: Settings) -> str:
    """A credit-risk champion whose run logged a 50,000-row reference; its version."""
    from mlflow.models import infer_signature
    from mlflow.pyfunc.model import PythonModel

    from nivesh_ml.tracking.registry import apply_gate
    from nivesh_ml.tracking.runs import REFERENCE_ROWS, start_training_run

    class Constant(PythonModel):  # the drift check never calls the model
        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
            return pd.DataFrame({"probability_of_default": [0.1] * len(model_input)})

    reference = profile_frame(REFERENCE_ROWS, seed=1)
    with start_training_run(settings, MODEL, run_name="bench-drift") as run:
        run.log_reference(reference)
        example = reference.head(1)
        version = run.log_model(Constant(), signature=infer_signature(example), input_example=example)
    apply_gate(settings, MODEL, version.version, {"auc": 0.9}, "d" * 64)
    return str(version.version)


def log_predictions(settings: Settings, version: str, size: int, now: datetime) -> float:
    """Bulk-insert ``size`` logged predictions of the last six days; the seconds it took."""
    from sqlalchemy import insert

    from nivesh_ml.db import ModelPrediction, repository, session_scope
    from nivesh_ml.db.app import app_engine

    engine = app_engine(settings)
    with session_scope(engine) as session:
        model = repository.get_model_version(session, f"nivesh-{MODEL}", version)
        assert model is not None
        model_id = model.id
    started = time.perf_counter()
    rng = np.random.default_rng(3)
    for start in range(0, size, _CHUNK):
        n = min(_CHUNK, size - start)
        features = profile_frame(n, seed=10 + start // _CHUNK, shifted=True).to_dict("records")
        ages = rng.uniform(0.0, 6 * 86_400.0, size=n)
        rows = [
            {
                "id": uuid.uuid4(),
                "model_id": model_id,
                "user_id": f"U{start + i:07d}",
                "input_data": {"user_id": f"U{start + i:07d}", "features": row},
                "prediction": {"probability_of_default": 0.1, "risk_band": "low"},
                "latency_ms": 1.0,
                "created_at": now - timedelta(seconds=float(ages[i])),
            }
            for i, row in enumerate(features)
        ]
        with engine.begin() as connection:
            connection.execute(insert(ModelPrediction), rows)
    return time.perf_counter() - started


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _timed(times: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            times[name] = times.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def measure_check(home: str, now: datetime) -> dict[str, Any]:
    """One ``check_drift`` in this process, its parts timed (run in a fresh process)."""
    from nivesh_ml.monitoring import drift

    floor = _rss_mb()
    settings = load_settings(_env_file=None, home=Path(home))
    times: dict[str, float] = {}
    for name in ("reference_features", "current_features", "compare"):
        if hasattr(drift, name):
            setattr(drift, name, _timed(times, name, getattr(drift, name)))
    started = time.perf_counter()
    result = drift.check_drift(settings, MODEL, WINDOW, now=now)
    total = time.perf_counter() - started
    parts = times.get("reference_features", 0.0) + times.get("current_features", 0.0)
    return {
        "seconds_total": total,
        "seconds_reference": times.get("reference_features", 0.0),
        "seconds_db_read": times.get("current_features", 0.0),
        "seconds_evidently": times.get("compare", float("nan")),
        "seconds_rest": total - parts - times.get("compare", 0.0),
        "peak_rss_mb": _rss_mb(),
        "load_average_1m": os.getloadavg()[0],
        "rss_after_imports_mb": floor,
        "current_rows": result.current_rows,
        "reference_rows": result.reference_rows,
        "columns": len(result.columns),
        "drifted": sorted(name for name, column in result.columns.items() if column["drifted"]),
        "drift_share": result.drift_share,
    }


def bench_drift(sizes: tuple[int, ...] = SIZES) -> list[dict[str, Any]]:
    """Figures per size (see the module docstring)."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    spawn = multiprocessing.get_context("spawn")
    out = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="nivesh-bench-drift-") as scratch:
            home = Path(scratch) / "var"
            settings = load_settings(_env_file=None, home=home)
            now = datetime.now(UTC)
            version = register_champion(settings)
            fill = log_predictions(settings, version, size, now)
            db_mb = (home / "nivesh.db").stat().st_size / 2**20
            with spawn.Pool(1) as pool:
                figures = pool.apply(measure_check, (str(home), now))
        out.append({"predictions": size, "seconds_fill": fill, "db_mb": db_mb, **figures})
        print(json.dumps(out[-1]), file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    for figures in bench_drift(tuple(args.sizes)):
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
