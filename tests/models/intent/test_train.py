"""The intent pipeline end to end in quick mode: logging, lineage, registration, the gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from nivesh_ml.config import Settings
from nivesh_ml.errors import NiveshError
from nivesh_ml.models.common import TrainOptions
from nivesh_ml.models.intent.train import train
from nivesh_ml.tracking.registry import CHAMPION, TAG_GATE
from nivesh_ml.tracking.store import client, registered_name

NAME = registered_name("intent")


def test_the_session_model_became_champion(session_model) -> None:
    mlflow_client = client(session_model.settings)
    assert str(mlflow_client.get_model_version_by_alias(NAME, CHAMPION).version) == session_model.version
    assert session_model.metrics["onnx_agreement"] >= 0.98  # the full model: 0.997 (docs/BENCHMARKS.md)


def test_quick_run_logs_everything_and_is_gated_against_the_champion(session_model) -> None:
    settings: Settings = session_model.settings
    report = train(settings, TrainOptions(quick=True))
    assert report.version is not None
    assert report.version != session_model.version
    assert report.outcome in {"champion", "challenger", "rejected"}
    assert {"accuracy", "macro_f1", "oos_recall", "threshold", "onnx_agreement"} <= set(report.metrics)
    mlflow_client = client(settings)
    run = mlflow_client.get_run(report.run_id)
    # the champion was scored on the same test frame, so the gate compared like with like
    tags = mlflow_client.get_model_version(NAME, report.version).tags
    assert tags[TAG_GATE + "champion_score"] != ""
    assert {"nivesh.dataset.training", "nivesh.dataset.validation", "nivesh.dataset.evaluation"} <= set(
        run.data.tags
    )
    assert len(run.inputs.dataset_inputs) == 3
    artefacts = {a.path for a in mlflow_client.list_artifacts(report.run_id, "evaluation")}
    assert {
        "evaluation/confusion_matrix.png",
        "evaluation/classification_report.md",
        "evaluation/metrics.json",
    } <= artefacts
    losses = mlflow_client.get_metric_history(report.run_id, "train_loss")
    assert [m.step for m in losses] == list(range(1, len(losses) + 1))
    assert mlflow_client.get_metric_history(report.run_id, "epoch_val_accuracy")
    assert Path(report.extra["bundle"], "model.int8.onnx").is_file()
    # the champion is untouched by a weaker quick model
    assert str(mlflow_client.get_model_version_by_alias(NAME, CHAMPION).version) == session_model.version


@pytest.mark.shared_data
def test_banking77_quick_is_a_benchmark_run_that_registers_nothing(settings: Settings) -> None:
    report = train(settings, TrainOptions(quick=True, dataset="banking77"))
    assert report.version is None
    assert 0.0 <= report.metrics["accuracy"] <= 1.0
    assert "oos_recall" not in report.metrics
    mlflow_client = client(settings)
    assert mlflow_client.get_run(report.run_id).data.tags["nivesh.benchmark"] == "true"
    assert mlflow_client.search_model_versions(f"name = '{NAME}'") == []


def test_unknown_dataset_is_refused(settings: Settings) -> None:
    with pytest.raises(NiveshError, match="banking77"):
        train(settings, TrainOptions(dataset="taiwan"))
