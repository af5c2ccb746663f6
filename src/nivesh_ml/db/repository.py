"""Small typed functions over the app database, one per thing the platform records or asks.

Each takes an open :class:`~sqlalchemy.orm.Session` and leaves committing to the caller
(:func:`nivesh_ml.db.session.session_scope`). A problem the caller can fix (an unknown id, a
duplicate version, a status outside :data:`~nivesh_ml.db.models.MODEL_STATUSES`) raises
:class:`~nivesh_ml.errors.DataError` with a one-line message.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nivesh_ml.db.models import (
    MODEL_STATUSES,
    CanaryDecision,
    DriftCheck,
    ModelPrediction,
    ModelRegistry,
    TrainingDataset,
    utcnow,
)
from nivesh_ml.errors import DataError

__all__ = [
    "canary_decisions",
    "feedback_between",
    "get_model_version",
    "latest_drift_checks",
    "log_prediction",
    "predictions_between",
    "recent_drift_checks",
    "record_canary_decision",
    "record_drift_check",
    "record_feedback",
    "record_training_dataset",
    "register_model_version",
    "set_model_status",
]

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def record_training_dataset(
    session: Session,
    *,
    dataset_name: str,
    model_type: str,
    data_source: str,
    size: int,
    s3_path: str,
    content_hash: str,
) -> TrainingDataset:
    """Record a training data set; the same name and content hash returns the row already there."""
    if not _SHA256_HEX.fullmatch(content_hash):
        raise DataError(f"content_hash {content_hash!r} is not a sha256 hex digest (64 lowercase hex digits)")
    if size < 0:
        raise DataError(f"data set {dataset_name!r} has a negative size {size}")
    existing = _find_dataset(session, dataset_name, content_hash)
    if existing is not None:
        return existing
    row = TrainingDataset(
        dataset_name=dataset_name,
        model_type=model_type,
        data_source=data_source,
        size=size,
        s3_path=s3_path,
        content_hash=content_hash,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another writer recorded the same data set between our read and our insert.
        existing = _find_dataset(session, dataset_name, content_hash)
        if existing is None:
            raise
        return existing
    return row


def register_model_version(
    session: Session,
    *,
    model_name: str,
    model_type: str,
    version: str,
    framework: str,
    artifact_path: str,
    created_by: str,
    metrics: Mapping[str, Any] | None = None,
    training_data_version: str | None = None,
    status: str = "staging",
) -> ModelRegistry:
    """Register a new model version (``staging`` unless told); a version registered twice is an error."""
    _check_status(status)
    row = ModelRegistry(
        model_name=model_name,
        model_type=model_type,
        version=version,
        framework=framework,
        artifact_path=artifact_path,
        created_by=created_by,
        metrics=dict(metrics or {}),
        training_data_version=training_data_version,
        status=status,
        deployed_at=utcnow() if status == "production" else None,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise DataError(f"model {model_name!r} version {version!r} is already registered") from None
    return row


def get_model_version(session: Session, model_name: str, version: str) -> ModelRegistry | None:
    """The registry row of one model version, or None."""
    query = select(ModelRegistry).where(
        ModelRegistry.model_name == model_name, ModelRegistry.version == version
    )
    return session.scalars(query).one_or_none()


def set_model_status(session: Session, model_id: uuid.UUID, status: str) -> ModelRegistry:
    """Move a model version to ``status``.

    A new ``production`` version (the champion) archives the model's previous one, so each
    model name has at most one; entering ``production`` stamps ``deployed_at``.
    """
    _check_status(status)
    row = session.get(ModelRegistry, model_id)
    if row is None:
        raise DataError(f"no model version with id {model_id}")
    if status == "production":
        _archive_previous_production(session, row.model_name, keep=row.id)
    if status == "production" and row.status != status:
        row.deployed_at = utcnow()
    row.status = status
    session.flush()
    return row


def log_prediction(
    session: Session,
    *,
    model_id: uuid.UUID,
    input_data: Mapping[str, Any],
    prediction: Mapping[str, Any],
    latency_ms: float,
    user_id: str | None = None,
    confidence: float | None = None,
) -> uuid.UUID:
    """Add one prediction to the log and return its id (written when the session flushes)."""
    prediction_id = uuid.uuid4()
    session.add(
        ModelPrediction(
            id=prediction_id,
            model_id=model_id,
            user_id=user_id,
            input_data=dict(input_data),
            prediction=dict(prediction),
            confidence=confidence,
            latency_ms=latency_ms,
        )
    )
    return prediction_id


def record_feedback(session: Session, prediction_id: uuid.UUID | str, actual: Any) -> None:
    """Store the actual outcome of a logged prediction; an unknown id raises :class:`DataError`.

    One UPDATE, no read first: on SQLite a transaction that has read cannot wait for the write
    lock (it is refused at once, "database is locked"), while a first statement that writes waits
    its turn behind the prediction log's writer.
    """
    statement = (
        update(ModelPrediction)
        .where(ModelPrediction.id == _as_uuid(prediction_id))
        .values(actual_outcome=actual)
        .execution_options(synchronize_session=False)
    )
    if session.execute(statement).rowcount == 0:  # type: ignore[attr-defined]
        raise DataError(f"no prediction with id {prediction_id}")


def record_drift_check(
    session: Session,
    *,
    model_key: str,
    model_name: str,
    version: str,
    window_start: datetime,
    window_end: datetime,
    drift_share: float,
    dataset_drift: bool,
    columns: Mapping[str, Any],
    reference_rows: int,
    current_rows: int,
    checked_at: datetime | None = None,
    report_path: str | None = None,
    mlflow_run_id: str | None = None,
) -> DriftCheck:
    """Record one drift check's verdict (written when the session flushes)."""
    if window_end < window_start:
        raise DataError(f"the drift window ends ({window_end}) before it starts ({window_start})")
    if not 0.0 <= drift_share <= 1.0:
        raise DataError(f"drift share {drift_share} is not between 0 and 1")
    row = DriftCheck(
        model_key=model_key,
        model_name=model_name,
        version=version,
        window_start=window_start,
        window_end=window_end,
        checked_at=checked_at or utcnow(),
        drift_share=drift_share,
        dataset_drift=dataset_drift,
        columns=dict(columns),
        reference_rows=reference_rows,
        current_rows=current_rows,
        report_path=report_path,
        mlflow_run_id=mlflow_run_id,
    )
    session.add(row)
    return row


def record_canary_decision(session: Session, **fields: Any) -> CanaryDecision:
    """Record how a canary ended (the columns of :class:`CanaryDecision`), written on flush."""
    row = CanaryDecision(**fields)
    session.add(row)
    return row


def canary_decisions(session: Session, model_key: str | None = None) -> list[CanaryDecision]:
    """Every canary decision (of ``model_key`` if given), oldest first."""
    query = select(CanaryDecision).order_by(CanaryDecision.decided_at, CanaryDecision.id)
    if model_key is not None:
        query = query.where(CanaryDecision.model_key == model_key)
    return list(session.scalars(query))


def recent_drift_checks(session: Session, model_key: str, limit: int) -> list[DriftCheck]:
    """The newest ``limit`` drift checks of ``model_key``, newest first."""
    query = (
        select(DriftCheck)
        .where(DriftCheck.model_key == model_key)
        .order_by(DriftCheck.checked_at.desc(), DriftCheck.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def latest_drift_checks(session: Session) -> list[DriftCheck]:
    """The newest drift check of every model that has one, by model key (one row per model)."""
    newest = (
        select(DriftCheck.model_key, func.max(DriftCheck.checked_at).label("checked_at"))
        .group_by(DriftCheck.model_key)
        .subquery()
    )
    query = (
        select(DriftCheck)
        .join(
            newest,
            (DriftCheck.model_key == newest.c.model_key) & (DriftCheck.checked_at == newest.c.checked_at),
        )
        .order_by(DriftCheck.model_key, DriftCheck.id)
    )
    latest: dict[str, DriftCheck] = {}
    for row in session.scalars(query):
        latest.setdefault(row.model_key, row)  # two checks in the same microsecond: either will do
    return list(latest.values())


def predictions_between(
    session: Session, model_id: uuid.UUID, start: datetime, end: datetime
) -> list[ModelPrediction]:
    """The model's predictions made in ``[start, end)``, oldest first (timezone-aware bounds)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware datetimes")
    if end < start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    query = (
        select(ModelPrediction)
        .where(
            ModelPrediction.model_id == model_id,
            ModelPrediction.created_at >= start,
            ModelPrediction.created_at < end,
        )
        .order_by(ModelPrediction.created_at, ModelPrediction.id)
    )
    return list(session.scalars(query))


def feedback_between(
    session: Session, model_names: Sequence[str], start: datetime, end: datetime, *, with_input: bool = False
) -> list[Row[Any]]:
    """The predictions of ``model_names`` made in ``[start, end)`` that have an actual outcome, oldest
    first: ``model_name, version, id, created_at, user_id, prediction, actual_outcome`` (and
    ``input_data`` when asked: it is the large column)."""
    columns: list[Any] = [
        ModelRegistry.model_name, ModelRegistry.version, ModelPrediction.id, ModelPrediction.created_at,
        ModelPrediction.user_id, ModelPrediction.prediction, ModelPrediction.actual_outcome,
    ]  # fmt: skip
    if with_input:
        columns.append(ModelPrediction.input_data)
    query = (
        select(*columns)
        .join(ModelRegistry, ModelPrediction.model_id == ModelRegistry.id)
        .where(
            ModelRegistry.model_name.in_(list(model_names)),
            ModelPrediction.created_at >= start,
            ModelPrediction.created_at < end,
            ModelPrediction.actual_outcome.is_not(None),
        )
        .order_by(ModelPrediction.created_at, ModelPrediction.id)
    )
    return list(session.execute(query).all())


def _find_dataset(session: Session, dataset_name: str, content_hash: str) -> TrainingDataset | None:
    query = select(TrainingDataset).where(
        TrainingDataset.dataset_name == dataset_name, TrainingDataset.content_hash == content_hash
    )
    return session.scalars(query).one_or_none()


def _check_status(status: str) -> None:
    if status not in MODEL_STATUSES:
        raise DataError(f"model status {status!r} is not one of {', '.join(MODEL_STATUSES)}")


def _archive_previous_production(session: Session, model_name: str, keep: uuid.UUID) -> None:
    query = select(ModelRegistry).where(
        ModelRegistry.model_name == model_name, ModelRegistry.status == "production", ModelRegistry.id != keep
    )
    for previous in session.scalars(query):
        previous.status = "archived"


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        raise DataError(f"prediction id {value!r} is not a UUID") from None
