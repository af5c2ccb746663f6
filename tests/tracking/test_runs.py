"""Lineage round trip on both backends: model version -> run -> data set hash -> training_dataset row."""

from __future__ import annotations

import mlflow
import pytest
from sqlalchemy import select

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelRegistry, TrainingDataset, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.tracking.runs import TAG_GIT, start_training_run
from nivesh_ml.tracking.store import client, ensure_experiment

from .conftest import log_version


def test_lineage_round_trip(tracking_settings: Settings) -> None:
    version, data_hash = log_version(tracking_settings, offset=1.0)
    mlflow_client = client(tracking_settings)
    mv = mlflow_client.get_model_version("nivesh-credit-risk", version)
    run = mlflow_client.get_run(mv.run_id)
    assert run.data.tags["nivesh.dataset.training"] == data_hash
    assert run.data.tags[TAG_GIT]
    assert run.data.params == {"offset": "1.0"}
    [logged] = run.inputs.dataset_inputs
    assert logged.dataset.digest == data_hash[:16]
    assert [tag.value for tag in logged.tags] == ["training"]
    with session_scope(app_engine(tracking_settings)) as session:
        dataset = session.scalars(
            select(TrainingDataset).where(TrainingDataset.content_hash == data_hash)
        ).one()
        assert (dataset.dataset_name, dataset.size, dataset.model_type) == (
            "credit-risk-train",
            3,
            "credit-risk",
        )
        row = session.scalars(select(ModelRegistry).where(ModelRegistry.version == version)).one()
        assert row.training_data_version == data_hash
        assert row.model_name == "nivesh-credit-risk"
        assert row.status == "staging"


def test_experiment_per_model_created_once(tracking_settings: Settings) -> None:
    first = ensure_experiment(tracking_settings, "ner")
    assert ensure_experiment(tracking_settings, "ner") == first
    experiment = client(tracking_settings).get_experiment(first)
    assert experiment.name == "nivesh/ner"
    if not tracking_settings.mlflow_tracking_uri:  # embedded: artefacts stay under NIVESH_HOME
        assert experiment.artifact_location.startswith(tracking_settings.mlflow_dir.resolve().as_uri())


def test_a_failing_body_marks_the_run_failed(tracking_settings: Settings) -> None:
    def train() -> str:
        with start_training_run(tracking_settings, "anomaly") as run:
            run.log_metrics({"loss": 1.0}, step=0)
            failed.append(run.run_id)
            raise RuntimeError("boom")

    failed: list[str] = []
    with pytest.raises(RuntimeError, match="boom"):
        train()
    [run_id] = failed
    assert client(tracking_settings).get_run(run_id).info.status == "FAILED"
    assert mlflow.active_run() is None


def test_metrics_per_step_and_nested_runs(tracking_settings: Settings) -> None:
    with start_training_run(tracking_settings, "credit-risk") as run:
        for step, loss in enumerate([0.9, 0.5, 0.3]):
            run.log_metrics({"loss": loss}, step=step)
        with run.child("trial-0") as child_id:
            mlflow.log_metric("auc", 0.8)
    mlflow_client = client(tracking_settings)
    history = mlflow_client.get_metric_history(run.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5), (2, 0.3)]
    child = mlflow_client.get_run(child_id)
    assert child.data.tags["mlflow.parentRunId"] == run.run_id
    assert child.info.experiment_id == run.run.info.experiment_id
