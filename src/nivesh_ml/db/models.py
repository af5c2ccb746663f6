"""The app database's tables, as SQLAlchemy 2 typed declarative models.

- ``model_registry``: one row per trained model version, with its lifecycle status.
- ``model_deployment``: where a version is served and with what share of traffic.
- ``model_prediction``: every prediction the server made, with the version that made it,
  and later the feedback (``actual_outcome``).
- ``training_dataset``: the data sets models were trained on, versioned by content hash.
- ``drift_check``: every drift check's verdict (``nivesh-ml drift check``), read by the server's gauges.

Model status (``model_registry.status``) takes one of :data:`MODEL_STATUSES`:

- ``staging``: registered, not the champion (the default for a new version); a challenger is a
  staging version with an active ``model_deployment`` row carrying its canary/shadow traffic share;
- ``production``: the champion (MLflow alias ``champion``), serving the main traffic;
- ``archived``: retired, kept for lineage and rollback.

These are the original design's values; the MLflow aliases map onto them in ``tracking``.

Portability: ids are :class:`sqlalchemy.Uuid` (native ``uuid`` on PostgreSQL, ``CHAR(32)``
on SQLite); JSON columns are ``JSONB`` on PostgreSQL and ``JSON`` elsewhere; timestamps are
``timestamptz`` on PostgreSQL and always come back timezone-aware (UTC) on both backends.
Every constraint is named by :data:`NAMING_CONVENTION`, so migrations are deterministic.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "CANARY_OUTCOMES",
    "DEPLOYMENT_STATUSES",
    "MODEL_STATUSES",
    "NAMING_CONVENTION",
    "ApiKey",
    "Base",
    "CanaryDecision",
    "DriftCheck",
    "ModelDeployment",
    "ModelPrediction",
    "ModelRegistry",
    "TrainingDataset",
    "UTCDateTime",
    "utcnow",
]

MODEL_STATUSES: tuple[str, ...] = ("staging", "production", "archived")
CANARY_OUTCOMES: tuple[str, ...] = ("promoted", "rolled_back")
DEPLOYMENT_STATUSES: tuple[str, ...] = ("active", "inactive", "rolled_back")

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), JSON elsewhere. A Python None is SQL NULL.
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that stores and returns aware UTC datetimes on every backend.

    SQLite keeps no offset: without this an IST time would be stored as its wall-clock
    digits and compare wrongly against UTC ones. Naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one, e.g. datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base; its metadata names every constraint by :data:`NAMING_CONVENTION`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _created_at() -> Mapped[datetime]:
    # The ORM sets the time (microsecond precision, distinct within one transaction); the
    # server default covers rows written without the ORM.
    return mapped_column(UTCDateTime(), nullable=False, default=utcnow, server_default=func.now())


def _updated_at() -> Mapped[datetime]:
    return mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class ModelRegistry(Base):
    """One trained version of a model, its artefact, metrics and lifecycle status."""

    __tablename__ = "model_registry"
    __table_args__ = (
        UniqueConstraint("model_name", "version"),
        CheckConstraint(_in_list("status", MODEL_STATUSES), name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    model_name: Mapped[str] = mapped_column(String(128), nullable=False)
    model_type: Mapped[str] = mapped_column(String(64), nullable=False)
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    framework: Mapped[str] = mapped_column(String(64), nullable=False)
    artifact_path: Mapped[str] = mapped_column(String(1024), nullable=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    training_data_version: Mapped[str | None] = mapped_column(String(128), nullable=True)
    status: Mapped[str] = mapped_column(
        String(32), nullable=False, default="staging", server_default="staging"
    )
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()

    deployments: Mapped[list[ModelDeployment]] = relationship(
        back_populates="model", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"ModelRegistry({self.model_name!r}, version={self.version!r}, status={self.status!r})"


class ModelDeployment(Base):
    """Where a model version is served, and the share of traffic it gets there."""

    __tablename__ = "model_deployment"
    __table_args__ = (
        CheckConstraint("traffic_percentage >= 0 AND traffic_percentage <= 100", name="traffic_percentage"),
        CheckConstraint(_in_list("status", DEPLOYMENT_STATUSES), name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    model_id: Mapped[uuid.UUID] = mapped_column(
        Uuid(), ForeignKey("model_registry.id", ondelete="CASCADE"), nullable=False, index=True
    )
    environment: Mapped[str] = mapped_column(String(64), nullable=False)
    endpoint_url: Mapped[str] = mapped_column(String(1024), nullable=False)
    traffic_percentage: Mapped[int] = mapped_column(
        Integer(), nullable=False, default=100, server_default=text("100")
    )
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="active", server_default="active")
    deployed_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _updated_at()

    model: Mapped[ModelRegistry] = relationship(back_populates="deployments")

    def __repr__(self) -> str:
        traffic = f"{self.traffic_percentage}%"
        return f"ModelDeployment({self.environment!r}, traffic={traffic}, status={self.status!r})"


class ModelPrediction(Base):
    """One prediction: its input, output, latency and, once known, the actual outcome.

    Predictions are an audit log: deleting a model that has predictions is refused
    (the foreign key has no ``ON DELETE``); archive the model instead.
    """

    __tablename__ = "model_prediction"
    __table_args__ = (Index(None, "model_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    model_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("model_registry.id"), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    input_data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    prediction: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    confidence: Mapped[float | None] = mapped_column(Float(), nullable=True)
    actual_outcome: Mapped[Any] = mapped_column(JSONType, nullable=True)
    latency_ms: Mapped[float] = mapped_column(Float(), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, server_default=func.now(), index=True
    )

    def __repr__(self) -> str:
        return f"ModelPrediction({self.id}, model_id={self.model_id}, created_at={self.created_at})"


class TrainingDataset(Base):
    """A data set a model was trained on, identified by name and the sha256 of its content."""

    __tablename__ = "training_dataset"
    __table_args__ = (
        UniqueConstraint("dataset_name", "content_hash"),
        CheckConstraint("length(content_hash) = 64", name="content_hash_sha256"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    dataset_name: Mapped[str] = mapped_column(String(128), nullable=False)
    model_type: Mapped[str] = mapped_column(String(64), nullable=False)
    data_source: Mapped[str] = mapped_column(String(256), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger(), nullable=False)
    s3_path: Mapped[str] = mapped_column(String(1024), nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    created_at: Mapped[datetime] = _created_at()

    def __repr__(self) -> str:
        return f"TrainingDataset({self.dataset_name!r}, hash={self.content_hash[:12]}, rows={self.size})"


class ApiKey(Base):
    """An API key of the model server: only a salted hash of it is kept, never the key itself.

    A key reads ``nvk_<prefix>_<secret>``; ``prefix`` (unique) finds the row, and the sha256 of
    ``salt`` + the whole key must equal ``hash``. A revoked key keeps its row (``revoked_at`` set).
    """

    __tablename__ = "api_key"
    __table_args__ = (UniqueConstraint("prefix"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    salt: Mapped[str] = mapped_column(String(64), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    created_at: Mapped[datetime] = _created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"ApiKey({self.name!r}, prefix={self.prefix!r}, scopes={self.scopes!r}, {state})"


class DriftCheck(Base):
    """One drift check: a champion's reference against the traffic it served in a window.

    Written by whoever runs the check (the CLI, an Airflow task), read by every model server's
    ``nivesh_drift_*`` gauges: the app DB is what they share, not a data dir.
    """

    __tablename__ = "drift_check"
    __table_args__ = (Index(None, "model_key", "checked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    model_key: Mapped[str] = mapped_column(String(64), nullable=False)
    model_name: Mapped[str] = mapped_column(String(128), nullable=False)
    version: Mapped[str] = mapped_column(String(64), nullable=False)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    checked_at: Mapped[datetime] = _created_at()
    drift_share: Mapped[float] = mapped_column(Float(), nullable=False)
    dataset_drift: Mapped[bool] = mapped_column(Boolean(), nullable=False)
    columns: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    reference_rows: Mapped[int] = mapped_column(Integer(), nullable=False)
    current_rows: Mapped[int] = mapped_column(Integer(), nullable=False)
    report_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    def __repr__(self) -> str:
        share = f"share={self.drift_share:.2f}"
        return f"DriftCheck({self.model_key!r}, v{self.version}, {share}, {self.checked_at})"


class CanaryDecision(Base):
    """The end of one canary: the challenger promoted or rolled back by the live-quality rule.

    Both sides' per-prediction losses over the same period (since the canary started) and the
    one-sided Welch t-test on them (``monitoring.canary``); the registry and the deployment rows
    move in the same step, this row says why.
    """

    __tablename__ = "canary_decision"
    __table_args__ = (
        Index(None, "model_key", "decided_at"),
        CheckConstraint(_in_list("outcome", CANARY_OUTCOMES), name="outcome"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)
    model_key: Mapped[str] = mapped_column(String(64), nullable=False)
    model_name: Mapped[str] = mapped_column(String(128), nullable=False)
    champion_version: Mapped[str] = mapped_column(String(64), nullable=False)
    challenger_version: Mapped[str] = mapped_column(String(64), nullable=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    reason: Mapped[str] = mapped_column(String(1024), nullable=False)
    loss: Mapped[str] = mapped_column(String(64), nullable=False)  # what was compared, e.g. "brier"
    champion_n: Mapped[int] = mapped_column(Integer(), nullable=False)
    challenger_n: Mapped[int] = mapped_column(Integer(), nullable=False)
    champion_loss: Mapped[float] = mapped_column(Float(), nullable=False)
    challenger_loss: Mapped[float] = mapped_column(Float(), nullable=False)
    p_value: Mapped[float | None] = mapped_column(Float(), nullable=True)
    canary_since: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    decided_at: Mapped[datetime] = _created_at()

    def __repr__(self) -> str:
        versions = f"v{self.challenger_version} vs v{self.champion_version}"
        return f"CanaryDecision({self.model_key!r}, {versions}, {self.outcome!r})"
