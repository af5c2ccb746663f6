"""Repository functions on the migrated database, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nivesh_ml.db import repository
from nivesh_ml.db.models import ModelPrediction, ModelRegistry, TrainingDataset
from nivesh_ml.errors import DataError

IST = timezone(timedelta(hours=5, minutes=30), "IST")
HASH_A = hashlib.sha256(b"transactions v1").hexdigest()
HASH_B = hashlib.sha256(b"transactions v2").hexdigest()


def _record(session: Session, content_hash: str = HASH_A, size: int = 1_000) -> TrainingDataset:
    return repository.record_training_dataset(
        session,
        dataset_name="nivesh-transactions",
        model_type="anomaly",
        data_source="synthetic",
        size=size,
        s3_path="var/data/transactions.parquet",
        content_hash=content_hash,
    )


def _register(session: Session, version: str = "1", name: str = "nivesh-intent") -> ModelRegistry:
    return repository.register_model_version(
        session,
        model_name=name,
        model_type="intent",
        version=version,
        framework="sklearn",
        artifact_path=f"models:/{name}/{version}",
        created_by="pipeline",
        metrics={"accuracy": 0.9, "per_intent": {"balance": {"f1": 0.95}}},
        training_data_version=HASH_A,
    )


def _count(session: Session, model: type[TrainingDataset | ModelRegistry | ModelPrediction]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_recording_the_same_dataset_twice_returns_the_first_row(session: Session) -> None:
    first = _record(session)
    session.commit()
    again = _record(session, size=999)
    session.commit()
    assert again.id == first.id
    assert again.size == 1_000
    assert _count(session, TrainingDataset) == 1


def test_a_new_content_hash_is_a_new_dataset_version(session: Session) -> None:
    first, second = _record(session, HASH_A), _record(session, HASH_B)
    session.commit()
    assert first.id != second.id
    assert _count(session, TrainingDataset) == 2


def test_a_dataset_needs_a_sha256_hash(session: Session) -> None:
    with pytest.raises(DataError, match="sha256"):
        _record(session, content_hash="not-a-hash")


def test_registering_a_version_twice_is_a_data_error(session: Session) -> None:
    _register(session, "1")
    session.commit()
    with pytest.raises(DataError, match="already registered"):
        _register(session, "1")
    _register(session, "2")  # the session is still usable: only the savepoint rolled back
    session.commit()
    assert sorted(session.scalars(select(ModelRegistry.version))) == ["1", "2"]


def test_get_model_version(session: Session) -> None:
    model = _register(session, "3")
    session.commit()
    assert repository.get_model_version(session, "nivesh-intent", "3") is model
    assert repository.get_model_version(session, "nivesh-intent", "4") is None


def test_a_new_production_version_archives_the_previous_one(session: Session) -> None:
    old, new, other = _register(session, "1"), _register(session, "2"), _register(session, "1", "nivesh-ner")
    repository.set_model_status(session, old.id, "production")
    repository.set_model_status(session, other.id, "production")
    repository.set_model_status(session, new.id, "production")
    session.commit()
    assert (old.status, new.status, other.status) == ("archived", "production", "production")
    assert new.deployed_at is not None
    assert new.deployed_at.tzinfo is not None


def test_set_model_status_refuses_unknown_status_and_id(session: Session) -> None:
    model = _register(session)
    with pytest.raises(DataError, match="not one of"):
        repository.set_model_status(session, model.id, "champion")
    with pytest.raises(DataError, match="no model version"):
        repository.set_model_status(session, uuid.uuid4(), "archived")


def test_log_prediction_and_record_feedback(session: Session) -> None:
    model = _register(session)
    prediction_id = repository.log_prediction(
        session,
        model_id=model.id,
        input_data={"query": "balance?"},
        prediction={"intent": "balance_query"},
        latency_ms=4.5,
        user_id="u-42",
        confidence=0.97,
    )
    session.commit()
    repository.record_feedback(session, str(prediction_id), {"intent": "balance_query"})
    session.commit()
    session.expire_all()
    stored = session.get_one(ModelPrediction, prediction_id)
    assert (stored.user_id, stored.confidence, stored.latency_ms) == ("u-42", 0.97, 4.5)
    assert stored.actual_outcome == {"intent": "balance_query"}


def test_feedback_on_an_unknown_prediction_is_a_data_error(session: Session) -> None:
    with pytest.raises(DataError, match="no prediction with id"):
        repository.record_feedback(session, uuid.uuid4(), "fraud")
    with pytest.raises(DataError, match="not a UUID"):
        repository.record_feedback(session, "42", "fraud")


def test_predictions_between_returns_the_half_open_window(session: Session) -> None:
    model, other = _register(session, "1"), _register(session, "2")
    start = datetime(2025, 4, 1, 0, 0, tzinfo=IST)
    offsets = {"before": -1, "at_start": 0, "inside": 90, "at_end": 120, "after": 121}
    for label, minutes in offsets.items():
        _log_at(session, model.id, label, start + timedelta(minutes=minutes))
    _log_at(session, other.id, "other model", start + timedelta(minutes=30))
    session.commit()

    rows = repository.predictions_between(session, model.id, start, start + timedelta(hours=2))

    assert [row.input_data["label"] for row in rows] == ["at_start", "inside"]
    assert rows[0].created_at == start.astimezone(UTC)


def test_predictions_between_needs_aware_ordered_bounds(session: Session) -> None:
    naive = datetime(2025, 4, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        repository.predictions_between(session, uuid.uuid4(), naive, naive + timedelta(days=1))
    aware = naive.replace(tzinfo=UTC)
    with pytest.raises(ValueError, match="before it starts"):
        repository.predictions_between(session, uuid.uuid4(), aware, aware - timedelta(days=1))


def _log_at(session: Session, model_id: uuid.UUID, label: str, when: datetime) -> None:
    prediction_id = repository.log_prediction(
        session, model_id=model_id, input_data={"label": label}, prediction={"intent": "x"}, latency_ms=1.0
    )
    session.flush()
    session.get_one(ModelPrediction, prediction_id).created_at = when
