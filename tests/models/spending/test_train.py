"""Training end to end (quick): backtest, registration through the gate, loading, serving, evaluate."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from nivesh_ml.config import OFFLINE_ENV, QualityBar, Settings, load_settings
from nivesh_ml.data.synthetic import SyntheticData
from nivesh_ml.errors import DataError, FeatureStoreError, NiveshError
from nivesh_ml.models.common import TrainOptions, TrainReport, evaluator, trainer
from nivesh_ml.models.pyfunc import unwrap
from nivesh_ml.models.spending.model import SpendingForecaster
from nivesh_ml.monitoring.drift import reference_features
from nivesh_ml.monitoring.drift_space import SPENDING_COLUMNS
from nivesh_ml.tracking.loading import load_model

# The default bar (wape <= 0.35) is below the noise floor of one user's monthly category spend;
# these tests check the pipeline, so they set a bar a quick model clears.
BAR = QualityBar(metric="wape", threshold=0.9, higher_is_better=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, TrainReport]]:
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("NIVESH_")]:
            patch.delenv(name)
        for name, value in OFFLINE_ENV.items():
            patch.setenv(name, value)
        home = tmp_path_factory.mktemp("spending") / "var"
        settings = load_settings(_env_file=None, home=home, quality_bars={"spending": BAR})
        yield settings, trainer("spending")(settings, TrainOptions(quick=True))


def test_quick_training_backtests_beside_both_baselines(trained: tuple[Settings, TrainReport]) -> None:
    _, report = trained
    metrics = report.metrics
    for name in ("mape", "smape", "wape", "coverage_80", "seasonal_naive_wape", "ets_wape", "sample_wape"):
        assert 0 <= metrics[name] < 5, name
    assert metrics["folds"] == 3
    assert metrics["wape"] < metrics["seasonal_naive_wape"]


def test_first_version_becomes_champion(trained: tuple[Settings, TrainReport]) -> None:
    _, report = trained
    assert report.version == "1"
    assert report.outcome == "champion"


def test_the_run_logs_users_spend_features_as_its_drift_reference(
    trained: tuple[Settings, TrainReport],
) -> None:
    settings, _ = trained
    _, reference = reference_features(settings, "spending")
    assert list(reference.columns) == list(SPENDING_COLUMNS)  # what the forecast reads online
    assert 250 <= len(reference) <= 300  # the quick data's users with spend
    assert (reference >= 0).all().all()
    assert (reference["spend_groceries_365d"] >= reference["spend_groceries_90d"]).all()
    assert (reference["spend_groceries_90d"] > 0).mean() > 0.5


def test_the_champion_forecasts_from_features(trained: tuple[Settings, TrainReport]) -> None:
    settings, _ = trained
    model = unwrap(load_model(settings, "spending", "champion"), SpendingForecaster)
    features = {f"spend_groceries_{days}d": 4_000.0 * days / 30 for days in (30, 90, 365)}
    answer = model.forecast("U1", 2, features=features)
    assert [row["month"] for row in answer["total"]] == ["2026-11", "2026-12"]
    groceries = [row for row in answer["forecast"] if row["category"] == "groceries"]
    assert len(groceries) == 2
    assert all(row["lower"] <= row["amount"] <= row["upper"] for row in answer["forecast"])
    assert all(row["amount"] == 0 for row in answer["forecast"] if row["category"] == "rent")
    only = model.forecast("U1", 1, "groceries", features=features)
    assert [row["category"] for row in only["forecast"]] == ["groceries"]


def test_bad_requests_are_refused_in_one_line(trained: tuple[Settings, TrainReport]) -> None:
    settings, _ = trained
    model = unwrap(load_model(settings, "spending", "champion"), SpendingForecaster)
    with pytest.raises(DataError, match="horizon_months must be between 1 and 12"):
        model.forecast("U1", 0, features={})
    with pytest.raises(DataError, match="unknown category 'gold'"):
        model.forecast("U1", 1, "gold", features={})
    with pytest.raises(FeatureStoreError, match="bind_store"):
        model.forecast("U1", 1)


def test_pyfunc_predict_returns_long_rows(trained: tuple[Settings, TrainReport]) -> None:
    settings, _ = trained
    loaded = load_model(settings, "spending", "champion")
    frame = pd.DataFrame([{"user_id": "U1", "horizon_months": 2, "spend_rent_365d": 120_000.0}])
    out = loaded.pyfunc.predict(frame)
    assert list(out.columns) == ["user_id", "month", "category", "amount", "lower", "upper"]
    assert len(out) == 2 * 12 + 2  # 12 categories and the total, per month
    rent = out[(out["category"] == "rent")]["amount"]
    assert (rent > 0).all()


def test_evaluate_backtests_the_registered_version(
    trained: tuple[Settings, TrainReport], small_data: SyntheticData, tmp_path: Path
) -> None:
    settings, _ = trained
    path = tmp_path / "transactions.parquet"
    small_data.transactions.to_parquet(path)
    metrics = evaluator("spending")(settings, path, "champion")
    assert metrics["model_version"] == "1"
    assert {"mape", "smape", "wape", "seasonal_naive_mape", "ets_wape"} <= set(metrics)
    assert set(metrics["per_category"]) == {
        "groceries",
        "food_delivery",
        "dining",
        "shopping",
        "travel",
        "fuel",
        "utilities",
        "entertainment",
        "subscriptions",
        "healthcare",
        "rent",
        "emi",
    }


def test_unknown_dataset_is_refused(trained: tuple[Settings, TrainReport]) -> None:
    settings, _ = trained
    with pytest.raises(NiveshError, match="nivesh or birmingham"):
        trainer("spending")(settings, TrainOptions(dataset="banking77"))


def test_serve_answers_the_servers_request(trained: tuple[Settings, TrainReport]) -> None:
    settings, _ = trained
    model = unwrap(load_model(settings, "spending", "champion"), SpendingForecaster)
    features = {"spending_patterns:v1": {"spend_groceries_365d": 36_000.0, "spend_groceries_90d": 9_000.0}}
    answer = model.serve(
        {"user_id": "U1", "horizon_months": 1, "category": "groceries", "features": features}
    )
    assert [row["category"] for row in answer["forecast"]] == ["groceries"]
    assert answer["forecast"][0]["amount"] > 0
    with pytest.raises(FeatureStoreError, match="no fresh spending_patterns:v1"):
        model.serve({"user_id": "U1", "horizon_months": 1, "features": {"transaction_stats:v1": {}}})
