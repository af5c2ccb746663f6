"""The models' constraints and defaults hold in the migrated database, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, Uuid, bindparam, delete, func, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from nivesh_ml.db.models import ModelDeployment, ModelPrediction, ModelRegistry, TrainingDataset
from nivesh_ml.db.session import session_scope

IST = timezone(timedelta(hours=5, minutes=30), "IST")


def _model(version: str = "1", **overrides: Any) -> ModelRegistry:
    fields: dict[str, Any] = {
        "model_name": "nivesh-intent",
        "model_type": "intent",
        "version": version,
        "framework": "sklearn",
        "artifact_path": f"models:/nivesh-intent/{version}",
        "metrics": {"accuracy": 0.91},
        "training_data_version": "a" * 64,
        "created_by": "pipeline",
    }
    return ModelRegistry(**(fields | overrides))


def _deployment(model: ModelRegistry, **overrides: Any) -> ModelDeployment:
    fields: dict[str, Any] = {"model": model, "environment": "production", "endpoint_url": "/predict/intent"}
    return ModelDeployment(**(fields | overrides))


def _prediction(model: ModelRegistry, **overrides: Any) -> ModelPrediction:
    fields: dict[str, Any] = {
        "model_id": model.id,
        "input_data": {"query": "what did I spend on Swiggy?"},
        "prediction": {"intent": "spending_query"},
        "latency_ms": 3.2,
    }
    return ModelPrediction(**(fields | overrides))


def test_defaults_and_timestamps(session: Session) -> None:
    model = _model()
    session.add_all([model, _deployment(model)])
    session.commit()
    session.expire_all()
    stored = session.scalars(select(ModelRegistry)).one()
    (deployment,) = stored.deployments
    assert stored.status == "staging"
    assert deployment.traffic_percentage == 100
    assert deployment.status == "active"
    assert stored.deployed_at is None
    for stamp in (stored.created_at, stored.updated_at, deployment.deployed_at, deployment.updated_at):
        assert stamp.tzinfo is not None
        assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)


def test_server_defaults_fill_rows_written_without_the_orm(engine: Engine) -> None:
    model_id = uuid.uuid4()
    insert = text(
        "INSERT INTO model_registry (id, model_name, model_type, version, framework, artifact_path, "
        "metrics, created_by) VALUES (:id, 'm', 't', '1', 'f', 'p', '{}', 'me')"
    ).bindparams(bindparam("id", type_=Uuid()))
    with session_scope(engine) as session:
        session.execute(insert, {"id": model_id})
    with session_scope(engine) as session:
        row = session.get_one(ModelRegistry, model_id)
        assert row.status == "staging"
        assert row.metrics == {}
        assert row.created_at.tzinfo is UTC
        assert abs(datetime.now(UTC) - row.created_at) < timedelta(minutes=1)


def test_updated_at_moves_on_change(session: Session) -> None:
    model = _model()
    session.add(model)
    session.commit()
    created_at, updated_at = model.created_at, model.updated_at
    model.status = "production"
    session.commit()
    session.refresh(model)
    assert model.updated_at > updated_at
    assert model.created_at == created_at


def test_duplicate_model_version_is_rejected(session: Session) -> None:
    session.add(_model("1"))
    session.commit()
    session.add(_model("1", framework="xgboost"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_same_version_of_another_model_is_fine(session: Session) -> None:
    session.add_all([_model("1"), _model("1", model_name="nivesh-ner")])
    session.commit()
    assert session.scalar(select(func.count()).select_from(ModelRegistry)) == 2


@pytest.mark.parametrize("traffic", [-1, 101])
def test_traffic_percentage_outside_0_to_100_is_rejected(session: Session, traffic: int) -> None:
    session.add(_deployment(_model(), traffic_percentage=traffic))
    with pytest.raises(IntegrityError):
        session.commit()


@pytest.mark.parametrize("traffic", [0, 100])
def test_traffic_percentage_bounds_are_allowed(session: Session, traffic: int) -> None:
    session.add(_deployment(_model(), traffic_percentage=traffic))
    session.commit()


@pytest.mark.parametrize("field", ["model", "deployment"])
def test_unknown_status_is_rejected(session: Session, field: str) -> None:
    if field == "model":
        session.add(_model(status="champion"))
    else:
        session.add(_deployment(_model(), status="paused"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_content_hash_must_be_sha256_hex_length(session: Session) -> None:
    session.add(
        TrainingDataset(
            dataset_name="transactions", model_type="anomaly", data_source="synthetic", size=10,
            s3_path="var/data/transactions.parquet", content_hash="abc123",
        )
    )  # fmt: skip
    with pytest.raises(IntegrityError):
        session.commit()


def test_deployments_are_deleted_with_their_model_by_the_database(session: Session) -> None:
    model = _model()
    session.add_all([model, _deployment(model), _deployment(model, environment="staging")])
    session.commit()
    # A bulk DELETE bypasses the ORM's cascade: only ON DELETE CASCADE can remove the deployments.
    session.execute(delete(ModelRegistry).where(ModelRegistry.id == model.id))
    session.commit()
    assert session.scalar(select(func.count()).select_from(ModelDeployment)) == 0


def test_a_model_with_predictions_cannot_be_deleted(session: Session) -> None:
    model = _model()
    session.add(model)
    session.flush()
    session.add(_prediction(model))
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(delete(ModelRegistry).where(ModelRegistry.id == model.id))


def test_a_prediction_needs_an_existing_model(session: Session) -> None:
    session.add(ModelPrediction(model_id=uuid.uuid4(), input_data={}, prediction={}, latency_ms=1.0))
    with pytest.raises(IntegrityError):
        session.commit()


def test_json_round_trips_nested_values(session: Session) -> None:
    nested = {
        "per_intent": {"spending_query": {"f1": 0.93, "support": 120}, "out_of_scope": {"recall": 0.8}},
        "thresholds": [0.3, 0.5, {"band": "high"}],
        "currency": "₹",
        "flags": {"calibrated": True, "notes": None},
    }
    model = _model(metrics=nested)
    session.add(model)
    session.flush()
    session.add(_prediction(model, input_data=nested, prediction={"entities": [[0, 5, "MERCHANT"]]}))
    session.commit()
    session.expire_all()
    assert session.scalars(select(ModelRegistry.metrics)).one() == nested
    stored = session.scalars(select(ModelPrediction)).one()
    assert stored.input_data == nested
    assert stored.prediction == {"entities": [[0, 5, "MERCHANT"]]}
    assert stored.actual_outcome is None
    assert session.scalar(select(func.count()).where(ModelPrediction.actual_outcome.is_(None))) == 1


def test_uuid_ids_round_trip(session: Session) -> None:
    model = _model()
    session.add(model)
    session.commit()
    session.expire_all()
    assert isinstance(session.scalars(select(ModelRegistry.id)).one(), uuid.UUID)
    assert session.get(ModelRegistry, model.id) is not None


def test_aware_times_are_stored_as_the_same_instant(session: Session) -> None:
    model = _model(deployed_at=datetime(2025, 3, 31, 23, 30, tzinfo=IST))
    session.add(model)
    session.commit()
    session.expire_all()
    stored = session.get_one(ModelRegistry, model.id)
    assert stored.deployed_at == datetime(2025, 3, 31, 18, 0, tzinfo=UTC)
    assert stored.deployed_at is not None
    assert stored.deployed_at.tzinfo is UTC


def test_naive_times_are_refused(session: Session) -> None:
    session.add(_model(deployed_at=datetime(2025, 3, 31, 12, 0)))
    with pytest.raises(StatementError, match="naive datetime"):
        session.commit()


def test_session_scope_commits_and_rolls_back(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(_model("1"))
    with pytest.raises(RuntimeError, match="boom"):
        _add_then_fail(engine)
    with session_scope(engine) as session:
        assert session.scalars(select(ModelRegistry.version)).all() == ["1"]


def _add_then_fail(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(_model("2"))
        session.flush()
        raise RuntimeError("boom")
