"""Outcomes that arrive with the data: confirmed fraud, joined to the predictions that scored it.

Each ingested day partition carries its transactions' fraud labels (``is_anomaly``: the bank's
confirmation of a dispute or chargeback, as the data set knows it). :func:`join_confirmed_fraud`
joins them to the anomaly predictions still without an outcome, by the debit each prediction
scored (user, time and amount, as the request named it), and records each match as that
prediction's outcome (``{"is_anomaly": ..., "source": "data"}``), where live quality, the
outcomes trigger, the canary rule and ``labels export`` read it. A prediction that already has
an outcome (from ``POST /feedback``) keeps it; a debit the data set does not hold (yet) is
left for a later day. :func:`nivesh_ml.pipelines.daily.ingest` runs it after every ingest, so
a day's debits are confirmed when the next day lands.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import synthetic_dir
from nivesh_ml.data.synthetic import read_manifest
from nivesh_ml.data.synthetic.partitions import advanced_days, read_since
from nivesh_ml.db import ModelPrediction, ModelRegistry, repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.log import get_logger
from nivesh_ml.tracking.store import registered_name

__all__ = ["LOOKBACK", "join_confirmed_fraud"]

log = get_logger(__name__)

LOOKBACK = timedelta(days=7)  # predictions older than this without an outcome are left alone
Debit = tuple[str, pd.Timestamp, float]  # (user_id, IST wall-clock time, amount)


def join_confirmed_fraud(
    settings: Settings, *, now: datetime | None = None, lookback: timedelta = LOOKBACK
) -> int:
    """Record the data set's fraud label as the outcome of each anomaly prediction of the last
    ``lookback`` that has none and whose debit the data set holds; returns how many were recorded."""
    now = now or datetime.now(UTC)
    waiting = _waiting(settings, now - lookback)
    manifest = read_manifest(synthetic_dir(settings)) or {}
    if not waiting or not advanced_days(manifest):
        return 0
    since = min(debit[1] for debit in waiting).normalize()
    history, days = read_since(synthetic_dir(settings), manifest, since, columns=_COLUMNS)
    labels = {
        _debit(row.user_id, row.timestamp, row.amount): bool(row.is_anomaly)
        for frame in (history, *days)
        for row in frame.itertuples(index=False)
    }
    found = {debit: ids for debit, ids in waiting.items() if debit in labels}
    with session_scope(app_engine(settings)) as session:
        for debit, ids in found.items():
            for prediction_id in ids:
                repository.record_feedback(
                    session, prediction_id, {"is_anomaly": labels[debit], "source": "data"}
                )
    recorded = sum(len(ids) for ids in found.values())
    log.info(
        "confirmed fraud joined", extra={"recorded": recorded, "waiting": sum(map(len, waiting.values()))}
    )
    return recorded


_COLUMNS = ["user_id", "timestamp", "amount", "is_anomaly"]


def _waiting(settings: Settings, since: datetime) -> dict[Debit, list[Any]]:
    """The debits of the anomaly predictions since ``since`` that have no outcome, with their ids."""
    query = (
        select(ModelPrediction.id, ModelPrediction.input_data)
        .join(ModelRegistry, ModelPrediction.model_id == ModelRegistry.id)
        .where(
            ModelRegistry.model_name == registered_name("anomaly"),
            ModelPrediction.created_at >= since,
            ModelPrediction.actual_outcome.is_(None),
        )
    )
    waiting: dict[Debit, list[Any]] = {}
    with session_scope(app_engine(settings)) as session:
        for prediction_id, inputs in session.execute(query):
            transaction = inputs.get("transaction") if isinstance(inputs, Mapping) else None
            debit = _request_debit(transaction) if isinstance(transaction, Mapping) else None
            if debit is not None:
                waiting.setdefault(debit, []).append(prediction_id)
    return waiting


def _request_debit(transaction: Mapping[str, Any]) -> Debit | None:
    try:
        return _debit(transaction["user_id"], transaction["timestamp"], transaction["amount"])
    except (KeyError, TypeError, ValueError):
        return None


def _debit(user: Any, timestamp: Any, amount: Any) -> Debit:
    """One debit's key: the data set's timestamps are IST wall clock; an aware one is converted."""
    when = pd.Timestamp(timestamp)
    if when.tzinfo is not None:
        when = when.tz_convert("Asia/Kolkata").tz_localize(None)
    value = float(amount)
    if not math.isfinite(value):
        raise ValueError(f"amount {amount!r}")
    return (str(user), when.floor("s"), round(value, 2))
