"""Drift checks against the real embedded MLflow store and app DB."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from nivesh_ml.config import Settings
from nivesh_ml.db import repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.db.models import DriftCheck
from nivesh_ml.errors import DataError
from nivesh_ml.monitoring.drift import check_all, check_drift, parse_window
from nivesh_ml.monitoring.drift_metrics import DriftCollector
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.runs import start_training_run


class Echo(PythonModel):
    def predict(
        self, context: object, model_input: pd.DataFrame, params: dict[str, object] | None = None
    ) -> object:
        return model_input


def _frame(n: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"utilisation": rng.normal(0.4 + shift, 0.1, n), "late_payments": rng.integers(0, 3, n).astype(float)}
    )


def _champion_with_reference(settings: Settings) -> str:
    reference = _frame(2_000, 0.0, 1)
    with start_training_run(settings, "credit-risk") as run:
        run.log_reference(reference)
        version = run.log_model(Echo(), signature=infer_signature(reference), input_example=reference.head(1))
    apply_gate(settings, "credit-risk", version.version, {"auc": 0.9}, "a" * 64)
    return version.version


def _log_traffic(settings: Settings, version: str, frame: pd.DataFrame, *, by_view: bool = False) -> None:
    with session_scope(app_engine(settings)) as session:
        model = repository.get_model_version(session, "nivesh-credit-risk", version)
        assert model is not None
        for row in frame.to_dict("records"):
            # the server logs online features by view; explicit request features come flat
            features = {"user_financial_profile:v1": row} if by_view else row
            repository.log_prediction(
                session,
                model_id=model.id,
                input_data={"features": features},
                prediction={"pd": 0.1},
                latency_ms=1.0,
            )


def test_a_shifted_feature_is_reported_and_exported(settings: Settings) -> None:
    version = _champion_with_reference(settings)
    _log_traffic(settings, version, _frame(400, 0.3, 2))
    result = check_drift(settings, "credit-risk", timedelta(days=7))
    assert result.version == version
    assert result.columns["utilisation"]["drifted"] is True
    assert result.columns["late_payments"]["drifted"] is False
    assert result.drift_share == pytest.approx(0.5)
    assert result.dataset_drift  # 0.5 >= the default threshold 0.3
    assert (result.current_rows, result.reference_rows) == (400, 2_000)
    assert result.report_html.endswith(".html")
    assert result.mlflow_run_id
    registry = CollectorRegistry()
    registry.register(DriftCollector(settings, wait_s=30))
    assert registry.get_sample_value("nivesh_drift_share", {"model": "credit-risk"}) == pytest.approx(0.5)
    labels = {"model": "credit-risk", "feature": "utilisation"}
    assert registry.get_sample_value("nivesh_feature_drifted", labels) == 1.0


def test_features_the_server_logged_by_view_are_compared_too(settings: Settings) -> None:
    version = _champion_with_reference(settings)
    _log_traffic(settings, version, _frame(400, 0.3, 2), by_view=True)
    result = check_drift(settings, "credit-risk", timedelta(days=7))
    assert set(result.columns) == {"utilisation", "late_payments"}
    assert result.columns["utilisation"]["drifted"] is True


def test_no_drift_on_the_same_distribution(settings: Settings) -> None:
    version = _champion_with_reference(settings)
    _log_traffic(settings, version, _frame(400, 0.0, 3))
    result = check_drift(settings, "credit-risk", timedelta(days=1))
    assert not result.dataset_drift
    assert not any(column["drifted"] for column in result.columns.values())
    assert result.report_html == ""  # a quiet check records its numbers; no report is drawn
    assert all(column["method"] and column["score"] >= 0 for column in result.columns.values())
    asked = check_drift(settings, "credit-risk", timedelta(days=1), html=True)  # `drift check MODEL`
    assert Path(asked.report_html).read_text().count("<html") == 1


def test_too_little_traffic_is_a_clear_error(settings: Settings) -> None:
    version = _champion_with_reference(settings)
    _log_traffic(settings, version, _frame(5, 0.0, 4))
    with pytest.raises(DataError, match="need at least 30"):
        check_drift(settings, "credit-risk", timedelta(days=7))


def test_a_check_is_recorded_in_the_app_db(settings: Settings) -> None:
    version = _champion_with_reference(settings)
    _log_traffic(settings, version, _frame(400, 0.3, 2))
    now = datetime.now(UTC)
    result = check_drift(settings, "credit-risk", timedelta(days=7), now=now)
    with session_scope(app_engine(settings)) as session:
        (row,) = session.scalars(select(DriftCheck))
        assert (row.model_key, row.model_name, row.version) == ("credit-risk", "nivesh-credit-risk", version)
        assert (row.window_start, row.window_end, row.checked_at) == (now - timedelta(days=7), now, now)
        assert row.drift_share == pytest.approx(0.5)
        assert row.dataset_drift is True
        assert row.columns["utilisation"]["drifted"] is True
        assert (row.reference_rows, row.current_rows) == (2_000, 400)
        assert (row.report_path, row.mlflow_run_id) == (result.report_html, result.mlflow_run_id)


def test_another_server_with_its_own_home_sees_the_check_through_the_app_db(
    settings: Settings, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # as in the compose bundle: Airflow checks in its home, the server has another; one app DB
    version = _champion_with_reference(settings)
    _log_traffic(settings, version, _frame(400, 0.3, 2))
    check_drift(settings, "credit-risk", timedelta(days=7))
    shutil.rmtree(settings.home / "reports")
    server = make_settings(home=tmp_path / "server-home", database_url=settings.db_url)
    registry = CollectorRegistry()
    registry.register(DriftCollector(server, wait_s=30))
    assert registry.get_sample_value("nivesh_drift_share", {"model": "credit-risk"}) == pytest.approx(0.5)
    labels = {"model": "credit-risk", "feature": "late_payments"}
    assert registry.get_sample_value("nivesh_feature_drifted", labels) == 0.0
    checked = {"model": "credit-risk", "version": version}
    assert registry.get_sample_value("nivesh_drift_checked_timestamp_seconds", checked)
    assert not (server.home / "reports").exists()


def test_no_gauges_and_no_error_when_the_app_db_is_away(make_settings: Callable[..., Settings]) -> None:
    away = make_settings(database_url="postgresql+psycopg://nivesh@127.0.0.1:1/nivesh")
    registry = CollectorRegistry()
    registry.register(DriftCollector(away, wait_s=30))
    families = list(registry.collect())
    assert {family.name for family in families} >= {"nivesh_drift_share", "nivesh_feature_drifted"}
    assert [sample for family in families for sample in family.samples] == []


def test_check_all_checks_what_has_a_reference_and_says_why_not_for_the_rest(settings: Settings) -> None:
    version = _champion_with_reference(settings)
    _log_traffic(settings, version, _frame(400, 0.3, 2))
    outcomes = {outcome.model: outcome for outcome in check_all(settings, timedelta(days=7))}
    assert set(outcomes) == {"intent", "ner", "spending", "anomaly", "credit-risk", "assistant"}
    assert outcomes["credit-risk"].status == "checked"
    assert outcomes["credit-risk"].result is not None
    assert outcomes["credit-risk"].result.dataset_drift
    for model in ("intent", "ner", "spending", "anomaly", "assistant"):
        assert outcomes[model].status == "skipped"
        assert outcomes[model].reason.startswith(f"{model}: no champion")


@pytest.mark.parametrize(("text", "expected"), [("7d", timedelta(days=7)), ("24h", timedelta(hours=24))])
def test_parse_window(text: str, expected: timedelta) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["7", "0d", "1w", "d", "-1d"])
def test_parse_window_rejects(text: str) -> None:
    with pytest.raises(DataError, match="not like 7d"):
        parse_window(text)
