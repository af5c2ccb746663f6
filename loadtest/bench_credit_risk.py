"""Credit-risk serving latency: the one-row hot path against the pyfunc's ``predict``.

Command: ``.venv/bin/python loadtest/bench_credit_risk.py [--home DIR] [--calls N]`` prints one
JSON object. It loads the newest registered ``nivesh-credit-risk`` version of the home (the
configured ``NIVESH_HOME`` by default) with its test users; with none registered it trains a
quick model on 1,500 synthetic users x 6 months in a temporary home first (``"model"`` says
which). Then, in one process, single-threaded booster, after a warm-up:

- ``score_one`` (validate the features, ``inplace_predict``, calibrate, reasons from
  ``pred_contribs``): the server's hot path; and the same without reasons;
- ``PyFuncModel.predict`` on a one-row frame (MLflow's schema enforcement included).

Latencies are p50 / p95 / p99 in milliseconds over ``calls`` different test users, wall clock and
CPU time of the process (``_cpu``; on a shared, loaded machine the wall-clock tail is the
scheduler's, and the load average is recorded beside). Target: hot path p95 at most 5 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np

from nivesh_ml.config import Settings, load_settings
from nivesh_ml.data.nivesh import ensure_synthetic
from nivesh_ml.data.synthetic import GeneratorConfig
from nivesh_ml.models.common import TrainOptions
from nivesh_ml.models.credit_risk.config import CreditRiskConfig
from nivesh_ml.models.credit_risk.data import load_nivesh
from nivesh_ml.models.credit_risk.model import CreditRiskModel, typed
from nivesh_ml.models.credit_risk.train import train
from nivesh_ml.tracking.store import client, registered_name

WARM_UP = 50


def bench_credit_risk(home: Path | None = None, calls: int = 2_000) -> dict[str, Any]:
    """Latency figures of the newest registered credit-risk version (see the module docstring)."""
    settings = load_settings(**({"home": home} if home else {}))
    with tempfile.TemporaryDirectory(prefix="nivesh-bench-credit-") as scratch:
        source = "registered"
        version = _newest_version(settings)
        if version is None:
            settings, source = _quick_model(Path(scratch)), "quick model, 1,500 users x 6 months"
            version = _newest_version(settings)
        assert version is not None
        pyfunc = mlflow.pyfunc.load_model(f"models:/{registered_name('credit-risk')}/{version}")
        model = pyfunc.unwrap_python_model()
        assert isinstance(model, CreditRiskModel)
        model.model_version = version
        test = typed(model.scorer.schema, load_nivesh(settings, CreditRiskConfig(), 42).test)
        rows = [test.iloc[[i % len(test)]] for i in range(calls)]
        records = [{name: frame.iloc[0][name] for name in frame.columns} for frame in rows]
        return {
            "model": f"nivesh-credit-risk v{version} ({source})",
            "trees": model.scorer.booster.num_boosted_rounds(),
            "features": len(model.scorer.schema),
            "calls": calls,
            "load_average_1m": os.getloadavg()[0],
            "cpus": os.cpu_count() or 0,
            **_timed("hot_path", lambda i: model.score_one(records[i]), calls),
            **_timed("hot_path_no_reasons", lambda i: model.score_one(records[i], with_reasons=False), calls),
            **_timed("pyfunc_predict", lambda i: pyfunc.predict(rows[i]), calls),
        }


def _newest_version(settings: Settings) -> str | None:
    versions = client(settings).search_model_versions(f"name = '{registered_name('credit-risk')}'")
    return max((str(v.version) for v in versions), key=int, default=None)


def _quick_model(folder: Path) -> Settings:
    settings = load_settings(home=folder / "var")
    ensure_synthetic(settings, GeneratorConfig(users=1_500, months=6, seed=42))
    train(settings, TrainOptions(quick=True))
    return settings


def _timed(name: str, call: Callable[[int], Any], calls: int) -> dict[str, float]:
    """Wall-clock and CPU-time percentiles (ms) of ``call`` (a loaded machine cannot inflate CPU time)."""
    for i in range(WARM_UP):
        call(i % calls)
    wall, cpu = np.empty(calls), np.empty(calls)
    for i in range(calls):
        start, start_cpu = time.perf_counter(), time.process_time()
        call(i)
        wall[i], cpu[i] = time.perf_counter() - start, time.process_time() - start_cpu
    figures: dict[str, float] = {}
    for kind, seconds in (("", wall), ("_cpu", cpu)):
        p50, p95, p99 = np.percentile(seconds * 1_000, [50, 95, 99])
        figures |= {f"{name}{kind}_p50_ms": p50, f"{name}{kind}_p95_ms": p95, f"{name}{kind}_p99_ms": p99}
    return {key: float(value) for key, value in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="NIVESH_HOME holding the registered model.")
    parser.add_argument("--calls", type=int, default=2_000, help="Timed calls per path.")
    args = parser.parse_args()
    figures = bench_credit_risk(args.home, args.calls)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
