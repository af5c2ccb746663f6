"""The served object: native artefacts, the one-row hot path, the pyfunc, scoring by user id."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.pyfunc.model import PythonModelContext

from nivesh_ml.config import OFFLINE_ENV, Settings, load_settings
from nivesh_ml.data.nivesh import ensure_synthetic
from nivesh_ml.data.synthetic import GeneratorConfig
from nivesh_ml.errors import DataError, FeatureStoreError, SchemaError, TrackingError
from nivesh_ml.features.definitions import get_view
from nivesh_ml.features.online import make_online_store
from nivesh_ml.models.credit_risk.config import CreditRiskConfig, risk_band
from nivesh_ml.models.credit_risk.data import CreditData, load_nivesh
from nivesh_ml.models.credit_risk.fitting import fit
from nivesh_ml.models.credit_risk.model import CreditRiskModel, Scorer

VIEW = get_view("user_financial_profile")


@dataclass(frozen=True)
class Served:
    settings: Settings
    data: CreditData
    model: CreditRiskModel
    folder: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A quick model fitted without tracking, saved, and loaded back as the registry would."""
    home = tmp_path_factory.mktemp("credit-model") / "var"
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("NIVESH_")]:
            patch.delenv(name)
        for name, value in OFFLINE_ENV.items():
            patch.setenv(name, value)
        settings = load_settings(_env_file=None, home=home)
        ensure_synthetic(settings, GeneratorConfig(users=800, months=6, seed=5))
        data = load_nivesh(settings, CreditRiskConfig.quick(), 42)
        fitted = fit(data, CreditRiskConfig.quick(), 42)
        folder = home / "artefacts"
        artefacts = fitted.scorer.save(folder)
        model = CreditRiskModel()
        model.load_context(PythonModelContext(artefacts, {}))
        yield Served(settings, data, model, folder)


def features_of(served: Served, position: int) -> dict[str, Any]:
    row = served.data.test.iloc[position]
    return {name: row[name] for name in served.data.schema.names}


def test_the_booster_is_native_xgboost_json(served: Served) -> None:
    saved = json.loads((served.folder / "model.json").read_text())
    assert "learner" in saved
    meta = json.loads((served.folder / "meta.json").read_text())
    assert meta["view"] == "user_financial_profile"
    assert meta["calibration"]["method"] in {"identity", "platt", "isotonic"}


def test_one_applicant_gets_a_pd_a_band_reasons_and_the_version(served: Served) -> None:
    served.model.model_version = "7"
    score = served.model.score(features_of(served, 0))
    assert 0 < score.probability_of_default < 1
    assert score.risk_band == risk_band(score.probability_of_default)
    assert isinstance(score.reasons, list)
    assert score.to_dict()["model_version"] == "7"


def test_the_hot_path_and_the_pyfunc_agree(served: Served) -> None:
    frame = served.data.test[served.data.schema.names].head(20)
    batch = served.model.predict(None, frame)
    assert list(batch.columns) == ["probability_of_default", "risk_band", "reasons"]
    for position in range(len(frame)):
        one = served.model.score_one(features_of(served, position))
        assert one.probability_of_default == pytest.approx(
            batch["probability_of_default"].iloc[position], rel=1e-6
        )
        assert one.risk_band == batch["risk_band"].iloc[position]
        assert one.reasons == batch["reasons"].iloc[position]


def test_reasons_can_be_skipped_on_the_hot_path(served: Served) -> None:
    assert served.model.score_one(features_of(served, 1), with_reasons=False).reasons == []


def test_bad_features_are_refused_naming_the_feature(served: Served) -> None:
    features = features_of(served, 0) | {"credit_utilisation": "high"}
    with pytest.raises(SchemaError, match="credit_utilisation"):
        served.model.score(features)
    with pytest.raises(SchemaError, match=r"unknown feature.*age"):
        served.model.score(features_of(served, 0) | {"age": 30})


def test_a_user_id_is_scored_from_the_online_store(served: Served) -> None:
    store = make_online_store(served.settings)
    try:
        user = str(served.data.test["user_id"].iloc[2])
        row = {
            k: (None if isinstance(v, float) and np.isnan(v) else v)
            for k, v in features_of(served, 2).items()
        }
        store.put_many(VIEW.key, {user: row}, ttl=timedelta(days=1), event_time=datetime.now(UTC))
        by_id = served.model.score(user_id=user, store=store)
        assert by_id == served.model.score(features_of(served, 2))
        with pytest.raises(FeatureStoreError, match="U9999999"):
            served.model.score(user_id="U9999999", store=store)
    finally:
        store.close()


def test_the_server_contract_takes_features_by_view_or_flat(served: Served) -> None:
    features = features_of(served, 3)
    by_view = served.model.serve({"user_id": "U1", "features": {"user_financial_profile:v1": features}})
    assert set(by_view) == {"probability_of_default", "risk_band", "reasons"}
    assert by_view == served.model.serve({"features": features})
    assert by_view["probability_of_default"] == served.model.score_one(features).probability_of_default
    with pytest.raises(SchemaError, match="no user_financial_profile:v1 features"):
        served.model.serve({"features": {"transaction_stats:v1": {"debit_count_365d": 3}}})
    with pytest.raises(SchemaError, match="'features' must be an object"):
        served.model.serve({"query": "hello"})
    with pytest.raises(DataError, match="monthly_income"):
        served.model.serve({"features": features | {"monthly_income": -5}})


def test_a_stored_value_out_of_range_is_clipped_and_said_but_a_sent_one_is_refused(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    features = features_of(served, 4) | {"overdraft_days_3m": 93, "overdraft_days_6m": 93}
    at_bound = features | {"overdraft_days_3m": 92}
    read = served.model.serve({"user_id": "U1", "features": {"user_financial_profile:v1": features}})
    assert read["clipped_features"] == [{"feature": "overdraft_days_3m", "value": 93.0, "used": 92.0}]
    assert read["probability_of_default"] == served.model.score_one(at_bound).probability_of_default
    assert "clipped to the schema's bounds" in caplog.text
    # the same values sent by a caller: refused, naming the feature (400 at the server)
    with pytest.raises(SchemaError, match=r"overdraft_days_3m' must be in \[0, 92\], got 93"):
        served.model.serve({"features": {"user_financial_profile:v1": features}})
    with pytest.raises(SchemaError, match="overdraft_days_3m"):
        served.model.score(features)


def test_a_user_id_with_a_stored_value_out_of_range_is_scored(served: Served) -> None:
    store = make_online_store(served.settings)
    try:
        user = str(served.data.test["user_id"].iloc[5])
        row = {
            k: (None if isinstance(v, float) and np.isnan(v) else v)
            for k, v in features_of(served, 5).items()
        }
        store.put_many(
            VIEW.key,
            {user: row | {"overdraft_days_12m": 367}},
            ttl=timedelta(days=1),
            event_time=datetime.now(UTC),
        )
        score = served.model.score(user_id=user, store=store)
        assert score.clipped_features == [{"feature": "overdraft_days_12m", "value": 367.0, "used": 366.0}]
        expected = served.model.score(features_of(served, 5) | {"overdraft_days_12m": 366})
        assert score.probability_of_default == expected.probability_of_default
        assert score.to_dict()["clipped_features"] == score.clipped_features
    finally:
        store.close()


def test_features_or_a_user_id_not_both(served: Served) -> None:
    with pytest.raises(SchemaError, match="either features or a user_id"):
        served.model.score()
    with pytest.raises(SchemaError, match="either features or a user_id"):
        served.model.score(features_of(served, 0), user_id="U0000001")


def test_the_loaded_scorer_matches_the_saved_one(served: Served) -> None:
    again = Scorer.load(served.folder / "model.json", served.folder / "meta.json")
    frame = served.data.test[served.data.schema.names]
    np.testing.assert_allclose(again.probabilities(frame), served.model.scorer.probabilities(frame))


@pytest.mark.parametrize(
    ("probability", "band"),
    [
        (0.0001, "A"),
        (0.0199, "A"),
        (0.02, "B"),
        (0.0499, "B"),
        (0.05, "C"),
        (0.1, "D"),
        (0.2999, "D"),
        (0.3, "E"),
        (0.99, "E"),
    ],
)
def test_risk_band_cut_offs(probability: float, band: str) -> None:
    assert risk_band(probability) == band


def test_an_unloaded_model_says_so() -> None:
    with pytest.raises(TrackingError, match="before its artefacts were loaded"):
        CreditRiskModel().score_one({})


def test_the_frame_path_takes_extra_columns(served: Served) -> None:
    frame = served.data.test.head(5)  # user_id, label and fairness groups beside the features
    assert isinstance(served.model.scorer.probabilities(pd.DataFrame(frame)), np.ndarray)
