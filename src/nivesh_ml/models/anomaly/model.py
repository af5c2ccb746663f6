"""The served anomaly detector: an MLflow pyfunc, and a fast ``score`` for one transaction.

``score(transaction)`` takes ``user_id``, ``amount``, ``merchant``, ``category``, ``timestamp``
(IST wall clock; one with an offset is converted) and ``channel`` (``direction`` optional:
credits are never flagged) and returns ``{"is_anomaly", "score", "reasons"}``. ``serve(request)``
is the same for the model server's request dict. What the server must supply besides the
transaction:

- the user's ``transaction_stats`` row: ``features=`` or, when omitted, read from the online store
  bound with :meth:`AnomalyDetector.bind_store` (a user with no row is scored against the
  population, and no merchant counts as new for them);
- ``context=``: the user's transactions since their features were computed (at least the last
  24 hours; ``timestamp``, ``amount``, ``merchant``, optional ``direction``), without the one
  being scored. Velocity, duplicates and "merchant paid since the snapshot" come from it; without
  it they read as zero, and bursts and duplicate charges go unnoticed.

``predict`` (the pyfunc contract) scores a DataFrame of transactions; rows of the same user in
the batch serve as each other's context, in time order; users' rows come from the bound store,
and without one every user is scored against the population.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModelContext

from nivesh_ml.errors import DataError, FeatureStoreError
from nivesh_ml.features.online import ViewKey
from nivesh_ml.models.anomaly.context import Debits, context_features
from nivesh_ml.models.anomaly.detector import Detector
from nivesh_ml.models.anomaly.features import StatsTable, Transactions, feature_matrix
from nivesh_ml.models.anomaly.reasons import Details, explain, group_pushes
from nivesh_ml.models.pyfunc import ArtefactModel

__all__ = ["ARTIFACT", "REQUIRED", "AnomalyDetector", "ist"]

ARTIFACT = "detector"  # the artefact name of the detector folder
REQUIRED = ("user_id", "amount", "merchant", "category", "timestamp", "channel")
_VIEW = ViewKey("transaction_stats", 1)
_LONG_AGO = np.array([0], dtype=np.int64)
_IST = "Asia/Kolkata"  # serving: any merchant in the context counts as seen


class AnomalyDetector(ArtefactModel[Detector]):
    """Isolation-forest anomaly scores with reasons (see the module docstring)."""

    artifact = ARTIFACT
    payload_name = "detector"

    def load_payload(self, path: Path) -> Detector:
        """Read the detector folder logged with the model."""
        return Detector.load(path)

    @property
    def detector(self) -> Detector:
        """The loaded detector."""
        return self.payload

    def score(
        self,
        transaction: Mapping[str, Any],
        *,
        features: Mapping[str, Any] | None = None,
        context: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """``{"is_anomaly": bool, "score": float in [0, 1], "reasons": [str, ...]}``."""
        txn = _checked(transaction)
        if str(txn.get("direction", "debit")) != "debit":
            return {"is_anomaly": False, "score": 0.0, "reasons": []}
        row = features if features is not None else self._features(str(txn["user_id"]))
        return self._score(txn, row, list(context or ()))

    def _score(
        self, txn: Mapping[str, Any], row: Mapping[str, Any] | None, context: list[Mapping[str, Any]]
    ) -> dict[str, Any]:
        detector = self.detector
        stamp = ist(txn["timestamp"])
        txns = Transactions(
            amount=np.array([float(txn["amount"])]),
            hour=np.array([stamp.hour]),
            merchant=np.array([str(txn["merchant"])], dtype=object),
            category=np.array([str(txn["category"])], dtype=object),
            channel=np.array([str(txn["channel"])], dtype=object),
            stats_row=np.array([0 if row else -1]),
        )
        stats = StatsTable.from_row(row)
        counts = _context(txn, stamp, context, detector)
        matrix = feature_matrix(txns, stats, counts, detector.priors)
        raw, pushes = group_pushes(detector.forest, matrix, detector.reference())
        details = Details.build(txns, stats, counts, detector.priors, matrix)
        return {
            "is_anomaly": bool(detector.flags(raw)[0]),
            "score": round(float(detector.scale(raw)[0]), 4),
            "reasons": explain(details, pushes, 0, detector.config.reasons),
        }

    def serve(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The model server's hot path: a ``POST /predict/anomaly`` body plus ``"features"``.

        ``request["transaction"]`` is scored against ``request["features"]["transaction_stats:v1"]``
        (the user's online row; absent: the population) and ``request.get("context")``, the
        user's recent transactions.
        """
        transaction = request.get("transaction")
        if not isinstance(transaction, Mapping):
            raise DataError("the request needs a transaction object")
        rows = request.get("features") or {}
        row = rows.get(str(_VIEW)) if isinstance(rows, Mapping) else None
        return self.score(transaction, features=row or {}, context=request.get("context") or ())

    def predict(
        self,
        context: PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """``is_anomaly``, ``score`` and ``reasons`` per input row (same order)."""
        missing = [name for name in REQUIRED if name not in model_input.columns]
        if missing:
            raise DataError(f"anomaly input needs columns {', '.join(REQUIRED)}; missing {missing}")
        frame = model_input.reset_index(drop=True)
        order = frame.assign(_ts=pd.to_datetime(frame["timestamp"])).sort_values("_ts", kind="stable").index
        seen: dict[str, list[Mapping[str, Any]]] = {}
        results: dict[int, dict[str, Any]] = {}
        for i in order:
            record = frame.loc[i].to_dict()
            user = str(record["user_id"])
            row = self._store.get(_VIEW, user) if self._store is not None else None
            results[i] = self.score(record, features=row or {}, context=seen.get(user, []))
            seen.setdefault(user, []).append(record)
        return pd.DataFrame(
            [results[i] for i in range(len(frame))], columns=["is_anomaly", "score", "reasons"]
        )

    def _features(self, user_id: str) -> Mapping[str, Any] | None:
        if self._store is None:
            raise FeatureStoreError("no online store bound and no features passed: call bind_store first")
        return self._store.get(_VIEW, user_id)


def ist(value: Any) -> pd.Timestamp:
    """A timestamp as naive IST wall-clock time, like the data's (an offset-aware one is converted)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_convert(_IST).tz_localize(None) if stamp.tzinfo is not None else stamp


def _checked(transaction: Mapping[str, Any]) -> Mapping[str, Any]:
    missing = [name for name in REQUIRED if transaction.get(name) in (None, "")]
    if missing:
        raise DataError(f"transaction needs {', '.join(REQUIRED)}; missing {missing}")
    amount = transaction["amount"]
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int | float)
        or not np.isfinite(amount)
        or amount <= 0
    ):
        raise DataError(f"amount must be a positive number, got {amount!r}")
    try:
        ist(transaction["timestamp"])
    except (ValueError, TypeError):
        raise DataError(f"timestamp must be an ISO date-time, got {transaction['timestamp']!r}") from None
    return transaction


def _context(
    txn: Mapping[str, Any], stamp: pd.Timestamp, context: list[Mapping[str, Any]], detector: Detector
) -> dict[str, np.ndarray]:
    debits = [item for item in context if str(item.get("direction", "debit")) == "debit"]
    history = Debits.build(
        [txn["user_id"]] * len(debits),
        [ist(item["timestamp"]) for item in debits] if debits else np.array([], dtype="datetime64[ns]"),
        [str(item.get("merchant", "")) for item in debits],
        [float(item.get("amount", 0.0)) for item in debits],
    )
    query = Debits.build([txn["user_id"]], [stamp], [str(txn["merchant"])], [float(txn["amount"])])
    return context_features(
        history,
        query,
        _LONG_AGO,
        windows_s=detector.config.velocity_windows_s,
        duplicate_s=detector.config.duplicate_window_s,
        includes_self=False,
    )
