"""evaluate() on labelled files: features and default_12m, or user_id and default_12m (features online)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nivesh_ml.config import OFFLINE_ENV, Settings, load_settings
from nivesh_ml.data.nivesh import ensure_synthetic
from nivesh_ml.data.synthetic import GeneratorConfig
from nivesh_ml.errors import DataError, DatasetMissingError, ModelNotFoundError, SchemaError
from nivesh_ml.features.definitions import get_view
from nivesh_ml.features.online import make_online_store
from nivesh_ml.models.common import TrainOptions, evaluator
from nivesh_ml.models.credit_risk.config import CreditRiskConfig
from nivesh_ml.models.credit_risk.data import load_nivesh
from nivesh_ml.models.credit_risk.evaluate import evaluate
from nivesh_ml.models.credit_risk.train import train

BAR = {"credit-risk": {"metric": "auc", "threshold": 0.55}}


@dataclass(frozen=True)
class Registered:
    settings: Settings
    test: pd.DataFrame
    auc: float
    folder: Path


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registered]:
    """A quick champion on 1,500 users, and its test users."""
    folder = tmp_path_factory.mktemp("credit-eval")
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("NIVESH_")]:
            patch.delenv(name)
        for name, value in OFFLINE_ENV.items():
            patch.setenv(name, value)
        settings = load_settings(_env_file=None, home=folder / "var", quality_bars=BAR)
        ensure_synthetic(settings, GeneratorConfig(users=1_500, months=6, seed=13))
        report = train(settings, TrainOptions(quick=True))
        assert report.outcome == "champion", report.reason
        test = load_nivesh(settings, CreditRiskConfig.quick(), 42).test
        yield Registered(settings, test, report.metrics["auc"], folder)


def test_a_feature_file_reproduces_the_training_run(registered: Registered) -> None:
    path = registered.folder / "test.csv"
    registered.test.to_csv(path, index=False)
    result = evaluator("credit-risk")(registered.settings, path, "champion")
    assert result["version"] == "1"
    assert result["auc"] == pytest.approx(registered.auc)
    assert result["auc_ci_low"] <= result["auc"] <= result["auc_ci_high"]
    assert {"ks", "brier", "rows", "default_rate"} <= set(result)
    assert "fairness_eo_difference_city_tier" in result
    assert result["fairness"]["decision"] == "decline when PD >= 0.3"


def test_a_parquet_file_with_true_false_labels(registered: Registered) -> None:
    path = registered.folder / "test.parquet"
    features = registered.test.drop(columns=["age_band", "city_tier"])
    features.assign(default_12m=features["default_12m"].astype(bool)).to_parquet(path)
    result = evaluate(registered.settings, path)
    assert result["auc"] == pytest.approx(registered.auc)
    assert "fairness" not in result


def test_user_ids_are_looked_up_online(registered: Registered) -> None:
    view = get_view("user_financial_profile")
    rows = registered.test.set_index("user_id")[view.columns].astype(object)
    rows = rows.where(rows.notna(), None)
    store = make_online_store(registered.settings)
    try:
        store.put_many(view.key, rows.to_dict("index"), ttl=timedelta(days=1), event_time=datetime.now(UTC))
    finally:
        store.close()
    path = registered.folder / "ids.csv"
    registered.test[["user_id", "default_12m"]].to_csv(path, index=False)
    assert evaluate(registered.settings, path)["auc"] == pytest.approx(registered.auc)


def test_a_user_missing_online_is_named(registered: Registered) -> None:
    path = registered.folder / "unknown.csv"
    pd.DataFrame({"user_id": ["U7654321"], "default_12m": [0]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="U7654321"):
        evaluate(registered.settings, path)


def test_a_bad_feature_value_is_named(registered: Registered) -> None:
    path = registered.folder / "bad.csv"
    registered.test.assign(late_payments_6m=np.where(np.arange(len(registered.test)) == 4, -1, 0)).to_csv(
        path, index=False
    )
    with pytest.raises(SchemaError, match=r"late_payments_6m.*row 4"):
        evaluate(registered.settings, path)


def test_a_file_without_the_label_is_refused(registered: Registered) -> None:
    path = registered.folder / "nolabel.csv"
    registered.test.drop(columns=["default_12m"]).to_csv(path, index=False)
    with pytest.raises(SchemaError, match="no label column 'default_12m'"):
        evaluate(registered.settings, path)


def test_a_bad_label_is_refused(registered: Registered) -> None:
    path = registered.folder / "badlabel.csv"
    registered.test.assign(default_12m="maybe").to_csv(path, index=False)
    with pytest.raises(SchemaError, match="0/1 or true/false"):
        evaluate(registered.settings, path)


def test_a_missing_file_or_alias_is_refused(registered: Registered) -> None:
    with pytest.raises(DatasetMissingError):
        evaluate(registered.settings, registered.folder / "nope.csv")
    path = registered.folder / "test.csv"
    registered.test.to_csv(path, index=False)
    with pytest.raises(ModelNotFoundError):
        evaluate(registered.settings, path, alias="challenger")
