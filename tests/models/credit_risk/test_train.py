"""Training end to end in quick mode: tracked search, calibration, fairness, registry, both gates."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from nivesh_ml.config import OFFLINE_ENV, Settings, load_settings
from nivesh_ml.data.nivesh import ensure_synthetic
from nivesh_ml.data.synthetic import GeneratorConfig
from nivesh_ml.models.common import TrainOptions, TrainReport
from nivesh_ml.models.credit_risk.config import CreditRiskConfig, FairnessLimits
from nivesh_ml.models.credit_risk.data import load_nivesh
from nivesh_ml.models.credit_risk.model import load_credit_model, typed
from nivesh_ml.models.credit_risk.train import train
from nivesh_ml.monitoring.drift import reference_features
from nivesh_ml.tracking.loading import load_model
from nivesh_ml.tracking.store import client

NAME = "nivesh-credit-risk"
REPO = Path(__file__).resolve().parents[3]
DATASETS = Path(os.environ.get("NIVESH_DATASETS_DIR", REPO.parent / "shared" / "data")).resolve()
BAR = {"credit-risk": {"metric": "auc", "threshold": 0.55}}


@dataclass(frozen=True)
class Trained:
    settings: Settings
    report: TrainReport
    make: Callable[..., Settings]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """One quick training on 1,500 synthetic users x 6 months, in a home of its own."""
    home = tmp_path_factory.mktemp("credit") / "var"

    def make(**overrides: Any) -> Settings:
        values = {"home": home, "datasets_dir": DATASETS, "quality_bars": BAR, **overrides}
        return load_settings(_env_file=None, **values)

    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("NIVESH_")]:
            patch.delenv(name)
        for name, value in OFFLINE_ENV.items():
            patch.setenv(name, value)
        settings = make()
        ensure_synthetic(settings, GeneratorConfig(users=1_500, months=6, seed=11))
        yield Trained(settings, train(settings, TrainOptions(quick=True)), make)


def run_of(settings: Settings, run_id: str) -> Any:
    return client(settings).get_run(run_id)


def test_a_quick_run_registers_a_champion(trained: Trained) -> None:
    report = trained.report
    assert (report.model, report.version, report.outcome) == ("credit-risk", "1", "champion")
    assert "no champion yet" in str(report.reason)
    assert report.extra["regime"] == "cv"
    assert report.extra["trials"] == 3
    assert str(client(trained.settings).get_model_version_by_alias(NAME, "champion").version) == "1"
    assert "MLFLOW_EXPERIMENT_ID" not in os.environ  # the search's pointer for nested runs is put back


def test_the_training_features_are_the_champions_drift_reference(trained: Trained) -> None:
    version, reference = reference_features(trained.settings, "credit-risk")
    assert version == "1"
    data = load_nivesh(trained.settings, CreditRiskConfig.quick(), seed=42)
    assert list(reference.columns) == data.schema.names  # what the server logs, by the same names
    assert len(reference) > 100


def test_metrics_fairness_and_the_reliability_plot_are_logged(trained: Trained) -> None:
    run = run_of(trained.settings, trained.report.run_id)
    metrics = run.data.metrics
    for key in ("auc", "auc_ci_low", "auc_ci_high", "ks", "brier", "brier_uncalibrated", "tuning_auc"):
        assert key in metrics
    assert metrics["auc_ci_low"] <= metrics["auc"] <= metrics["auc_ci_high"]
    for attribute in ("age_band", "city_tier"):
        assert f"fairness_dp_difference_{attribute}" in metrics
        assert f"fairness_eo_difference_{attribute}" in metrics
    artefacts = {item.path for item in client(trained.settings).list_artifacts(run.info.run_id)}
    assert {"reliability.png", "fairness.json", "risk_bands.json", "schema.json"} <= artefacts
    assert run.data.params["calibration"] in {"identity", "platt"}  # isotonic needs 200 defaults
    assert {"calibration_cv_brier_identity", "calibration_cv_brier_platt"} <= set(metrics)


def test_calibration_keeps_or_improves_brier_on_held_out_users(trained: Trained) -> None:
    metrics = trained.report.metrics
    assert metrics["brier"] <= metrics["brier_uncalibrated"] + 0.002


def test_every_trial_is_a_nested_run(trained: Trained) -> None:
    mlflow_client = MlflowClient(trained.settings.tracking_uri)
    parent = run_of(trained.settings, trained.report.run_id)
    children = mlflow_client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{trained.report.run_id}'"
    )
    assert sorted(child.info.run_name for child in children) == ["trial-000", "trial-001", "trial-002"]
    assert all("auc" in child.data.metrics and "eta" in child.data.params for child in children)


def test_the_version_carries_its_fairness_gaps(trained: Trained) -> None:
    tags = client(trained.settings).get_model_version(NAME, "1").tags
    assert tags["nivesh.fairness.passed"] == "true"
    assert float(tags["nivesh.fairness.dp_difference_age_band"]) >= 0
    assert "nivesh.fairness.eo_difference_city_tier" in tags


def test_the_registered_pyfunc_takes_counts_as_ints_and_flags_as_bools(trained: Trained) -> None:
    data = load_nivesh(trained.settings, CreditRiskConfig.quick(), 42)
    frame = typed(data.schema, data.test)
    assert frame["late_payments_6m"].dtype == "int64"
    assert frame["has_salary_account"].dtype == bool
    scores = load_model(trained.settings, "credit-risk").pyfunc.predict(frame)
    assert list(scores.columns) == ["probability_of_default", "risk_band", "reasons"]
    assert scores.loc[scores["probability_of_default"].idxmax(), "reasons"]
    assert load_credit_model(trained.settings).model_version == "1"


def test_a_model_breaking_a_fairness_limit_is_refused(trained: Trained) -> None:
    strict = trained.make(credit_high_risk_threshold=0.05)
    limits = FairnessLimits(max_dp_difference=0.0, max_eo_difference=0.0, alpha=1.0)
    report = train(strict, TrainOptions(quick=True), fairness_limits=limits)
    assert report.outcome == "rejected"
    assert report.reason is not None
    assert report.reason.startswith("refused by the fairness gate: ")
    assert "difference on age_band" in report.reason or "difference on city_tier" in report.reason
    mlflow_client = client(strict)
    assert str(mlflow_client.get_model_version_by_alias(NAME, "champion").version) != report.version
    tags = mlflow_client.get_model_version(NAME, str(report.version)).tags
    assert tags["nivesh.gate.outcome"] == "rejected"
    assert tags["nivesh.fairness.passed"] == "false"
    assert run_of(strict, report.run_id).data.tags["nivesh.gate.reason"] == report.reason


def test_a_fair_model_is_compared_with_the_champion_on_the_same_users(trained: Trained) -> None:
    report = train(trained.settings, TrainOptions(quick=True, seed=42))
    assert report.outcome in {"champion", "challenger"}
    assert "champion" in str(report.reason)
    assert "no champion yet" not in str(report.reason)


@pytest.mark.shared_data
def test_a_benchmark_run_is_logged_not_registered(
    make_settings: Callable[..., Settings], shared_data: Path
) -> None:
    settings = make_settings()
    report = train(settings, TrainOptions(quick=True, dataset="german", data_dir=shared_data))
    assert report.version is None
    assert report.outcome is None
    assert report.reason == "benchmark run on german: logged, not registered"
    assert report.metrics["auc"] > 0.6
    assert {"fairness_dp_difference_sex", "fairness_eo_difference_age_band"} <= set(report.metrics)
    assert client(settings).search_model_versions(f"name = '{NAME}'") == []
    saved = {item.path for item in client(settings).list_artifacts(report.run_id, "booster")}
    assert saved == {"booster/model.json", "booster/meta.json"}
