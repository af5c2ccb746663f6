"""Anomaly detector serving latency: ``score`` on the hot path, beside the pyfunc's ``predict``.

Command: ``.venv/bin/python loadtest/bench_anomaly.py [--home DIR] [--calls N]`` prints one JSON
object. It loads the newest registered ``nivesh-anomaly`` version of the home (the configured
``NIVESH_HOME`` by default; with none registered it trains a quick one in a temporary home),
builds the users' ``transaction_stats`` rows as of the start of the data's last month with the
feature builder, writes them to a temporary SQLite online store and binds it. It then scores
``calls`` real debits of that month, each with its user's debits of the 24 hours before it as
context, in one process after a warm-up:

- ``score(transaction, context=...)`` reading the row from the online store: the hot path
  (features, forest, and the reasons' re-scoring, all included);
- the same with the row passed in and no context;
- ``PyFuncModel.predict`` on a one-row frame (MLflow's schema enforcement included).

Latencies are p50 / p95 / p99 in milliseconds, wall clock and CPU time (``_cpu``), with the load
average beside. Target: hot path p95 at most 5 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_spending import newest_version, quick_home, synthetic_data, timed

from nivesh_ml.config import load_settings
from nivesh_ml.features.builders import build_view
from nivesh_ml.features.definitions import get_view
from nivesh_ml.features.online import SQLiteStore
from nivesh_ml.models.anomaly.model import AnomalyDetector
from nivesh_ml.models.transactions import backfilled_sources
from nivesh_ml.tracking.store import registered_name

_FIELDS = ("user_id", "amount", "merchant", "category", "timestamp", "channel")
_DAY = pd.Timedelta(hours=24)


def bench_anomaly(home: Path | None = None, calls: int = 2_000) -> dict[str, Any]:
    """Latency figures of the newest registered anomaly version (see the module docstring)."""
    settings = load_settings(**({"home": home} if home else {}))
    with tempfile.TemporaryDirectory(prefix="nivesh-bench-anomaly-") as scratch:
        source, version = "registered", newest_version(settings, "anomaly")
        if version is None:
            settings, source = quick_home(Path(scratch), "anomaly"), "quick model"
            version = newest_version(settings, "anomaly")
        assert version is not None
        pyfunc = mlflow.pyfunc.load_model(f"models:/{registered_name('anomaly')}/{version}")
        model = pyfunc.unwrap_python_model()
        assert isinstance(model, AnomalyDetector)
        data = synthetic_data(settings)
        sources = backfilled_sources(data.users, data.accounts, data.transactions)
        as_of = data.transactions["timestamp"].max().to_period("M").to_timestamp()
        view = get_view("transaction_stats")
        frame = build_view(view, sources, as_of).set_index("user_id")
        rows = {str(u): r for u, r in zip(frame.index, frame.to_dict("records"), strict=True)}
        store = SQLiteStore(Path(scratch) / "online.sqlite")
        store.put_many(view.key, rows, ttl=view.ttl, event_time=datetime.now(UTC))
        model.bind_store(store)
        txns, contexts = _sample(data.transactions, as_of, calls)
        frames = [pd.DataFrame([t]) for t in txns[:200]]
        answers = [model.score(t, context=c) for t, c in zip(txns, contexts, strict=True)]
        figures = {
            "model": f"nivesh-anomaly v{version} ({source})",
            "calls": len(txns),
            "mean_context": float(np.mean([len(c) for c in contexts])),
            "flagged_share": float(np.mean([a["is_anomaly"] for a in answers])),
            "load_average_1m": os.getloadavg()[0],
            "cpus": os.cpu_count() or 0,
            **timed("score_store_context", lambda i: model.score(txns[i], context=contexts[i]), len(txns)),
            **timed(
                "score_features",
                lambda i: model.score(txns[i], features=rows.get(str(txns[i]["user_id"]), {})),
                len(txns),
            ),
            **timed("pyfunc_predict", lambda i: pyfunc.predict(frames[i % len(frames)]), min(len(txns), 500)),
        }
        store.close()
    return figures


def _sample(
    transactions: pd.DataFrame, as_of: pd.Timestamp, calls: int
) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """``calls`` debits after ``as_of`` and, for each, its user's debits of the day before it."""
    debits = transactions[transactions["direction"].astype(str) == "debit"]
    recent = debits[debits["timestamp"] >= as_of - _DAY]
    pool = recent[recent["timestamp"] >= as_of]
    picked = pool.sample(min(calls, len(pool)), random_state=7)
    by_user = {str(u): g for u, g in recent.groupby(recent["user_id"].astype(str), sort=False)}
    txns, contexts = [], []
    for row in picked.itertuples(index=False):
        txn = {name: _plain(getattr(row, name)) for name in _FIELDS}
        mine = by_user[txn["user_id"]]
        window = mine[(mine["timestamp"] >= row.timestamp - _DAY) & (mine["timestamp"] < row.timestamp)]
        txns.append(txn)
        contexts.append([{name: _plain(getattr(r, name)) for name in _FIELDS} for r in window.itertuples()])
    return txns, contexts


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value if isinstance(value, float | int) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="NIVESH_HOME holding the registered model.")
    parser.add_argument("--calls", type=int, default=2_000, help="Timed calls per path.")
    args = parser.parse_args()
    print(json.dumps(bench_anomaly(args.home, args.calls), indent=2))


if __name__ == "__main__":
    main()
