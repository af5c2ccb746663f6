"""Outcomes that arrive with the data: confirmed fraud and observed defaults, joined to the
predictions that scored them.

- **Confirmed fraud.** Each ingested day partition carries its transactions' fraud labels
  (``is_anomaly``: the bank's confirmation of a dispute or chargeback, as the data set knows it).
  :func:`join_confirmed_fraud` joins them to the anomaly predictions still without an outcome, by
  the debit each prediction scored (user, time and amount, as the request named it), and records
  ``{"is_anomaly": ..., "source": "data"}``. A debit the data set does not hold (yet) is left for
  a later day.
- **Observed defaults.** Each day partition also carries the day's 90-days-past-due events
  (``dpd90``, :mod:`nivesh_ml.data.synthetic.outcomes`). :func:`join_observed_defaults` gives a
  credit-risk prediction of a user, scored as of data day ``t``, the outcome
  ``{"default": <an event of the user in (t, t + horizon]>, "source": "data"}`` once the data
  reaches ``t + horizon``. The data day a prediction was scored as of is the newest day ingested
  before it was made: :func:`record_ingest` writes each ingest's days and time to
  ``ingest_log.jsonl`` beside the data (a prediction before any ingest is as of the history's
  last day).

Either way an outcome already recorded (from ``POST /feedback``) is kept, and each join is safe to
run again. :func:`nivesh_ml.pipelines.daily.ingest` runs both after every ingest: a day's debits
are confirmed when the next day lands, a score's default is known ``horizon`` days later.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import synthetic_dir
from nivesh_ml.data.synthetic import read_manifest
from nivesh_ml.data.synthetic.partitions import advanced_days, partition_meta, read_since
from nivesh_ml.data.synthetic.storage import dataset_config
from nivesh_ml.db import ModelPrediction, ModelRegistry, repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.log import get_logger
from nivesh_ml.models.anomaly.model import ist
from nivesh_ml.tracking.store import registered_name

__all__ = [
    "INGEST_LOG",
    "LOOKBACK",
    "LOOKBACK_DAYS",
    "join_confirmed_fraud",
    "join_observed_defaults",
    "record_ingest",
]

log = get_logger(__name__)

LOOKBACK = timedelta(days=7)  # anomaly predictions older than this without an outcome are left alone
LOOKBACK_DAYS = 30  # credit-risk scores whose horizon closed more than this many data days ago are left
INGEST_LOG = "ingest_log.jsonl"
Debit = tuple[str, pd.Timestamp, float]  # (user_id, IST wall-clock time, amount)


# --- the data clock ---------------------------------------------------------------------------


def record_ingest(settings: Settings, days: Sequence[str], *, at: datetime | None = None) -> None:
    """Note that ``days`` (ISO dates) were ingested at ``at`` (now): the clock that tells which data
    day a prediction was made as of."""
    if not days:
        return
    moment = (at or datetime.now(UTC)).isoformat()
    with (synthetic_dir(settings) / INGEST_LOG).open("a", encoding="utf-8") as handle:
        for day in days:
            handle.write(json.dumps({"day": day, "ingested_at": moment}) + "\n")


def _clock(folder: Path) -> tuple[list[datetime], list[dt.date]]:
    """Ingest times (ascending) and the newest data day held from each on."""
    path = folder / INGEST_LOG
    entries = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                entries.append(
                    (datetime.fromisoformat(entry["ingested_at"]), dt.date.fromisoformat(entry["day"]))
                )
    entries.sort()
    times, days, newest = [], [], dt.date.min
    for moment, day in entries:
        newest = max(newest, day)
        times.append(moment)
        days.append(newest)
    return times, days


# --- observed defaults ------------------------------------------------------------------------


def join_observed_defaults(settings: Settings, *, lookback_days: int = LOOKBACK_DAYS) -> int:
    """Record whether each credit-risk prediction without an outcome, whose default horizon the data
    now covers (and closed at most ``lookback_days`` data days ago), was followed by a 90-DPD event
    of its user; returns how many were recorded."""
    folder = synthetic_dir(settings)
    manifest = read_manifest(folder) or {}
    records = advanced_days(manifest)
    if not records:
        return 0
    history_end = dataset_config(manifest, folder).end_date
    last = dt.date.fromisoformat(records[-1]["day"])
    metas = {
        dt.date.fromisoformat(record["day"]): partition_meta(folder / record["file"]) for record in records
    }
    horizon = {
        day: int(meta.get("horizon_days", settings.outcome_horizon_days)) for day, meta in metas.items()
    }
    events: dict[str, list[dt.date]] = {}
    for day in sorted(metas):
        for user in metas[day].get("dpd90", []):
            events.setdefault(str(user), []).append(day)
    # days advanced before they carried their 90-DPD events say nothing about defaults: a horizon
    # that reaches back to one of them is not judged (it would read as "no default")
    silent = [day for day, meta in metas.items() if "dpd90" not in meta]
    reported_from = max(silent) + timedelta(days=1) if silent else dt.date.min
    times, as_of_days = _clock(folder)

    def as_of(created: datetime) -> dt.date:
        at = bisect.bisect_right(times, created)
        return as_of_days[at - 1] if at else history_end

    def window(start: dt.date) -> int:  # the horizon the days after ``start`` were drawn for
        return horizon.get(start + timedelta(days=1), settings.outcome_horizon_days)

    recorded = 0
    with session_scope(app_engine(settings)) as session:
        for prediction_id, user, created in session.execute(
            _waiting_credit(settings, times, as_of_days, last, lookback_days)
        ):
            start = as_of(created)
            end = start + timedelta(days=window(start))
            if end > last or (last - end).days > lookback_days or start + timedelta(days=1) < reported_from:
                continue
            defaulted = any(start < day <= end for day in events.get(str(user), ()))
            repository.record_feedback(session, prediction_id, {"default": defaulted, "source": "data"})
            recorded += 1
    log.info("observed defaults joined", extra={"recorded": recorded, "as_of": last.isoformat()})
    return recorded


def _waiting_credit(
    settings: Settings, times: list[datetime], days: list[dt.date], last: dt.date, lookback_days: int
) -> Any:
    """The credit-risk predictions without an outcome made in the ingest-clock span that can resolve."""
    query = (
        select(ModelPrediction.id, ModelPrediction.user_id, ModelPrediction.created_at)
        .join(ModelRegistry, ModelPrediction.model_id == ModelRegistry.id)
        .where(
            ModelRegistry.model_name == registered_name("credit-risk"),
            ModelPrediction.actual_outcome.is_(None),
            ModelPrediction.user_id.is_not(None),  # a score by features names no user to follow
        )
    )
    oldest = last - timedelta(days=lookback_days + settings.outcome_horizon_days + 1)
    since = [moment for moment, day in zip(times, days, strict=True) if day <= oldest]
    if since:  # scores made before the data held ``oldest`` cannot resolve inside the lookback
        query = query.where(ModelPrediction.created_at >= since[-1])
    return query


# --- confirmed fraud --------------------------------------------------------------------------


def join_confirmed_fraud(
    settings: Settings, *, now: datetime | None = None, lookback: timedelta = LOOKBACK
) -> int:
    """Record the data set's fraud label as the outcome of each anomaly prediction of the last
    ``lookback`` that has none and whose debit the data set holds; returns how many were recorded."""
    now = now or datetime.now(UTC)
    waiting = _waiting_debits(settings, now - lookback)
    manifest = read_manifest(synthetic_dir(settings)) or {}
    if not waiting or not advanced_days(manifest):
        return 0
    since = min(debit[1] for debit in waiting).normalize()
    history, days = read_since(synthetic_dir(settings), manifest, since, columns=_COLUMNS)
    users = {debit[0] for debit in waiting}
    labels: dict[Debit, bool] = {}
    for frame in (history, *days):
        rows = frame[frame["user_id"].astype(str).isin(users)]
        keys = zip(
            rows["user_id"].astype(str),
            rows["timestamp"].dt.floor("s"),
            np.round(rows["amount"].to_numpy(dtype=np.float64), 2),
            strict=True,
        )
        labels.update(zip(keys, rows["is_anomaly"].astype(bool), strict=True))
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


def _waiting_debits(settings: Settings, since: datetime) -> dict[Debit, list[Any]]:
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
    """One scored debit's key (the data set's timestamps are IST wall clock), or None if malformed."""
    try:
        amount = float(transaction["amount"])
        if not np.isfinite(amount):
            return None
        return (str(transaction["user_id"]), ist(transaction["timestamp"]).floor("s"), round(amount, 2))
    except (KeyError, TypeError, ValueError):
        return None
