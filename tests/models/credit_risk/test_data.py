"""Training data: point-in-time Nivesh features, user splits, benchmark loaders that never train on test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import ensure_synthetic, synthetic_dir
from nivesh_ml.data.public import TAIWAN, load_taiwan_credit
from nivesh_ml.data.synthetic import GeneratorConfig, read_dataset
from nivesh_ml.errors import DataError
from nivesh_ml.features.builders import SourceFrames, build_view
from nivesh_ml.features.definitions import get_view
from nivesh_ml.features.offline import OfflineStore
from nivesh_ml.models.credit_risk.benchmarks import load_benchmark, resolve_data_dir
from nivesh_ml.models.credit_risk.config import CreditRiskConfig
from nivesh_ml.models.credit_risk.data import load_nivesh, make_splits, nivesh_frame, training_rows

VIEW = get_view("user_financial_profile")


@pytest.fixture
def nivesh_settings(make_settings: Callable[..., Settings]) -> Settings:
    settings = make_settings()
    ensure_synthetic(settings, GeneratorConfig(users=300, months=4, seed=3))
    return settings


def test_features_are_the_view_as_of_the_label_date(nivesh_settings: Settings) -> None:
    frame, _ = nivesh_frame(nivesh_settings)
    data = read_dataset(synthetic_dir(nivesh_settings))
    as_of = pd.Timestamp(data.credit_labels["as_of"].iloc[0])
    assert OfflineStore(nivesh_settings.features_dir).snapshots(VIEW) == [as_of]
    expected = build_view(VIEW, SourceFrames.from_synthetic(data), as_of).set_index("user_id")[VIEW.columns]
    got = frame.set_index("user_id")[VIEW.columns].astype(float)
    pd.testing.assert_frame_equal(got, expected.loc[got.index].astype(float), check_names=False)


def test_no_feature_sees_the_label_date_or_later(nivesh_settings: Settings) -> None:
    data = read_dataset(synthetic_dir(nivesh_settings))
    as_of = pd.Timestamp(data.credit_labels["as_of"].iloc[0])
    assert (data.transactions["timestamp"] >= as_of).any()  # the label date's own transactions exist
    frame, _ = nivesh_frame(nivesh_settings)
    got = frame.set_index("user_id")[VIEW.columns].astype(float)
    a_day_later = build_view(VIEW, SourceFrames.from_synthetic(data), as_of + pd.Timedelta(days=1))
    leaked = a_day_later.set_index("user_id").loc[got.index, VIEW.columns].astype(float)
    assert not got.equals(leaked)  # they would have changed the features; they did not reach them


def test_fairness_groups_ride_beside_the_features(nivesh_settings: Settings) -> None:
    frame, _ = nivesh_frame(nivesh_settings)
    assert set(frame["age_band"]) <= {"18-29", "30-44", "45-59", "60+"}
    assert set(frame["city_tier"]) <= {"tier_1", "tier_2", "tier_3"}
    assert "age" not in frame.columns


def test_users_split_once_with_a_fixed_seed(nivesh_settings: Settings) -> None:
    config = CreditRiskConfig.quick()
    first, again = load_nivesh(nivesh_settings, config, 42), load_nivesh(nivesh_settings, config, 42)
    assert not set(first.train["user_id"]) & set(first.test["user_id"])
    assert len(first.train) + len(first.test) == 300
    assert list(first.test["user_id"]) == list(again.test["user_id"])


def test_the_regime_follows_the_training_size(nivesh_settings: Settings) -> None:
    data = load_nivesh(nivesh_settings, CreditRiskConfig.quick(), 42)
    cv = make_splits(data, CreditRiskConfig.quick(), 42)
    assert cv.regime == "cv"
    assert len(cv.folds) == 3
    holdout = make_splits(data, replace(CreditRiskConfig.quick(), cv_max_rows=10), 42)
    assert holdout.regime == "holdout"
    assert holdout.valid is not None
    assert holdout.calib is not None
    assert len(holdout.fit.y) + len(holdout.valid.y) + len(holdout.calib.y) == len(data.train)


@pytest.mark.shared_data
def test_a_test_split_is_refused_for_training(shared_data: Path) -> None:
    with pytest.raises(DataError, match="never train on a test split"):
        training_rows(load_taiwan_credit(shared_data, "test"))
    data = load_benchmark("taiwan", shared_data)
    with pytest.raises(DataError, match="never train on a test split"):
        make_splits(replace(data, train=data.test), CreditRiskConfig.quick(), 42)


@pytest.mark.shared_data
def test_taiwan_reads_behaviour_only(shared_data: Path) -> None:
    data = load_benchmark("taiwan", shared_data / TAIWAN)  # the folder itself is accepted too
    assert not {"SEX", "AGE", "MARRIAGE", "EDUCATION"} & set(data.schema.names)
    assert len(data.schema) == 19
    assert (len(data.train), len(data.test)) == (24_000, 6_000)
    assert data.test.attrs["split"] == "test"
    assert set(data.test["sex"]) == {"male", "female"}


@pytest.mark.shared_data
def test_german_leaves_out_sex_age_and_nationality(shared_data: Path) -> None:
    data = load_benchmark("german", shared_data)
    assert not {"personal_status_sex", "age_years", "foreign_worker"} & set(data.schema.names)
    assert "checking_status=A11" in data.schema.encoded_names
    assert data.x(data.train).shape == (800, len(data.schema.encoded_names))
    assert data.groups == ("sex", "age_band")


def test_data_dir_may_name_the_set_or_its_parent(tmp_path: Path) -> None:
    (tmp_path / "german_credit").mkdir()
    assert resolve_data_dir("german", tmp_path) == tmp_path
    assert resolve_data_dir("german", tmp_path / "german_credit") == tmp_path


def test_an_unknown_benchmark_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown credit benchmark"):
        load_benchmark("lendingclub", tmp_path)


def _feedback_folder(folder: Path, outcomes: list[tuple[str, dict[str, object], int]]) -> Path:
    """A labels folder as `nivesh-ml labels export` writes it, from (user, logged features, default)."""
    import json

    from nivesh_ml.monitoring.labels import ROWS, Joined, _render

    records = [
        record
        for number, (user, features, defaulted) in enumerate(outcomes)
        for record in ROWS["credit-risk"](
            Joined(
                f"p{number}",
                "1",
                user,
                {"features": {"user_financial_profile:v1": features}},
                {"probability_of_default": 0.05},
                {"default": bool(defaulted)},
            )
        )
    ]
    folder.mkdir(parents=True)
    (folder / "labels.csv").write_text(_render("labels.csv", records))
    manifest = {"file": "labels.csv", "version": "f" * 64, "rows": len(records)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_collected_outcomes_join_the_training_data_on_their_users_side(
    nivesh_settings: Settings, tmp_path: Path
) -> None:
    config = CreditRiskConfig.quick()
    base = load_nivesh(nivesh_settings, config, 42)
    frame, _ = nivesh_frame(nivesh_settings)
    features = frame.set_index("user_id")[VIEW.columns]
    in_train, in_test = str(base.train["user_id"].iloc[0]), str(base.test["user_id"].iloc[0])

    def logged(user: str) -> dict[str, object]:
        return {name: (None if pd.isna(v) else v) for name, v in features.loc[user].to_dict().items()}

    labels = _feedback_folder(
        tmp_path / "labels",
        [(in_train, logged(in_train), 0), (in_test, logged(in_test), 1), (in_train, logged(in_train), 1)],
    )
    data = load_nivesh(nivesh_settings, config, 42, feedback=labels)
    assert len(data.train) == len(base.train) + 1  # the train user's newest outcome only
    assert len(data.test) == len(base.test) + 1
    assert data.train.iloc[-1]["user_id"] == in_train
    assert data.train.iloc[-1]["default_12m"] == 1  # the newest of its two outcomes
    assert data.test.iloc[-1]["user_id"] == in_test
    assert data.test.iloc[-1]["default_12m"] == 1
    assert data.test.iloc[-1]["age_band"] == base.test.iloc[0]["age_band"]
    assert data.source_version == f"{base.source_version}+feedback:{'f' * 12}"
    data.x(data.train)  # the joined rows pass the model's schema
    assert not set(data.train["user_id"]) & set(data.test["user_id"])  # no user on both sides


def test_feedback_labels_without_the_features_are_refused(nivesh_settings: Settings, tmp_path: Path) -> None:
    labels = _feedback_folder(tmp_path / "labels", [("U0000001", {"monthly_income": 1.0}, 0)])
    with pytest.raises(DataError, match="lack"):
        load_nivesh(nivesh_settings, CreditRiskConfig.quick(), 42, feedback=labels)


def test_a_blank_yes_no_in_the_feedback_labels_is_named(nivesh_settings: Settings, tmp_path: Path) -> None:
    frame, _ = nivesh_frame(nivesh_settings)
    user = str(frame["user_id"].iloc[0])
    features = {
        name: (None if pd.isna(v) else v)
        for name, v in frame.set_index("user_id").loc[user, VIEW.columns].items()
    }
    labels = _feedback_folder(tmp_path / "labels", [(user, {**features, "has_salary_account": None}, 0)])
    with pytest.raises(DataError, match="has_salary_account must be true or false"):
        load_nivesh(nivesh_settings, CreditRiskConfig.quick(), 42, feedback=labels)
