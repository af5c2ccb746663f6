"""Canary to promotion without a person, and the retrain triggers: real MLflow registry, real app DB.

A version that beats the champion at the gate becomes a canary challenger when promotion goes
through the canary; outcomes logged for both versions decide it by the one-sided Welch t-test.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from sqlalchemy import select

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelDeployment, ModelRegistry, repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.monitoring.canary import decide_canary, welch_worse
from nivesh_ml.pipelines.triggers import retrain_triggers
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.store import client

from .conftest import log_version

NAME = "nivesh-credit-risk"
EVAL = "e" * 64
MIN_FEEDBACK = 40


def aliases(settings: Settings) -> dict[str, str]:
    found = {}
    for alias in ("champion", "challenger"):
        with contextlib.suppress(MlflowException):
            found[alias] = str(client(settings).get_model_version_by_alias(NAME, alias).version)
    return found


def deployments(settings: Settings) -> dict[str, list[tuple[str, int, str]]]:
    """version -> every deployment row as (environment, traffic, status)."""
    with session_scope(app_engine(settings)) as session:
        rows = session.scalars(select(ModelRegistry).where(ModelRegistry.model_name == NAME)).all()
        return {
            row.version: sorted((d.environment, d.traffic_percentage, d.status) for d in row.deployments)
            for row in rows
        }


def log_outcomes(
    settings: Settings, version: str, pds: np.ndarray, defaulted: np.ndarray, user: str | None = None
) -> None:
    """Predictions of ``version`` with their outcomes, logged now (after the canary began); all of
    ``user`` when given."""
    with session_scope(app_engine(settings)) as session:
        model = repository.get_model_version(session, NAME, version)
        assert model is not None
        for pd_value, outcome in zip(pds, defaulted, strict=True):
            prediction = {"probability_of_default": float(pd_value), "risk_band": "B"}
            prediction_id = repository.log_prediction(
                session, model_id=model.id, input_data={}, prediction=prediction, latency_ms=1.0, user_id=user
            )
            session.flush()
            repository.record_feedback(session, prediction_id, {"default": int(outcome)})


@pytest.fixture
def canary(tracking_settings: Settings) -> tuple[Settings, str, str]:
    """A champion (v1) and a challenger (v2) that beat it at the gate, on a 10% canary."""
    settings = tracking_settings.model_copy(
        update={"promote_via_canary": True, "canary_min_feedback": MIN_FEEDBACK}
    )
    v1, _ = log_version(settings, offset=1)
    assert apply_gate(settings, "credit-risk", v1, {"auc": 0.80}, EVAL).outcome == "champion"
    v2, _ = log_version(settings, offset=2)
    decision = apply_gate(settings, "credit-risk", v2, {"auc": 0.85}, EVAL)
    assert decision.outcome == "challenger"
    assert "challenger first" in decision.reason
    return settings, v1, v2


def _later() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


def test_a_winner_goes_to_canary_first_and_waits_for_outcomes(canary: tuple[Settings, str, str]) -> None:
    settings, v1, v2 = canary
    assert aliases(settings) == {"champion": v1, "challenger": v2}
    assert deployments(settings)[v2] == [("canary", 10, "active")]
    rng = np.random.default_rng(0)
    log_outcomes(settings, v2, rng.uniform(0, 1, 5), rng.integers(0, 2, 5))
    verdict = decide_canary(settings, "credit-risk", now=_later())
    assert verdict.status == "waiting"
    assert (verdict.challenger_n, verdict.champion_n) == (5, 0)
    assert aliases(settings) == {"champion": v1, "challenger": v2}


def test_a_challenger_not_worse_is_promoted_and_recorded(canary: tuple[Settings, str, str]) -> None:
    settings, v1, v2 = canary
    rng = np.random.default_rng(1)
    defaulted = rng.integers(0, 2, MIN_FEEDBACK)
    pds = np.clip(defaulted * 0.7 + rng.uniform(0, 0.3, defaulted.size), 0, 1)
    log_outcomes(settings, v1, pds, defaulted)
    order = rng.permutation(MIN_FEEDBACK)  # the challenger as good: the same losses, other users
    log_outcomes(settings, v2, pds[order] * 0.98, defaulted[order])
    verdict = decide_canary(settings, "credit-risk", now=_later())
    assert verdict.status == "promoted", verdict.reason
    assert verdict.p_value is not None
    assert verdict.p_value >= settings.canary_alpha
    assert aliases(settings) == {"champion": v2}
    rows = deployments(settings)
    assert ("production", 100, "active") in rows[v2]
    assert all(status != "active" for *_, status in rows[v1])
    tags = client(settings).get_model_version(NAME, v2).tags
    assert tags["nivesh.canary.outcome"] == "promoted"
    with session_scope(app_engine(settings)) as session:
        [recorded] = repository.canary_decisions(session, "credit-risk")
        assert (recorded.outcome, recorded.challenger_version, recorded.champion_version) == (
            "promoted",
            v2,
            v1,
        )
        assert (recorded.challenger_n, recorded.champion_n, recorded.loss) == (
            MIN_FEEDBACK,
            MIN_FEEDBACK,
            "brier",
        )


def test_a_worse_challenger_is_rolled_back_and_recorded(canary: tuple[Settings, str, str]) -> None:
    settings, v1, v2 = canary
    rng = np.random.default_rng(2)
    defaulted = rng.integers(0, 2, MIN_FEEDBACK)
    log_outcomes(settings, v1, np.clip(defaulted * 0.8 + 0.1, 0, 1), defaulted)  # sharp and right
    log_outcomes(settings, v2, rng.uniform(0, 1, MIN_FEEDBACK), defaulted)  # a coin
    verdict = decide_canary(settings, "credit-risk", now=_later())
    assert verdict.status == "rolled_back", verdict.reason
    assert verdict.p_value is not None
    assert verdict.p_value < settings.canary_alpha
    assert aliases(settings) == {"champion": v1}
    rows = deployments(settings)
    assert ("canary", 10, "rolled_back") in rows[v2]
    assert ("production", 100, "active") in rows[v1]
    tags = client(settings).get_model_version(NAME, v2).tags
    assert (tags["nivesh.canary.outcome"], tags["nivesh.rolled_back"]) == ("rolled_back", "true")
    with session_scope(app_engine(settings)) as session:
        [recorded] = repository.canary_decisions(session)
        assert recorded.outcome == "rolled_back"
        assert recorded.challenger_loss > recorded.champion_loss
    assert decide_canary(settings, "credit-risk", now=_later()).status == "none"


def test_without_canary_first_a_winner_is_champion_at_once(tracking_settings: Settings) -> None:
    v1, _ = log_version(tracking_settings, offset=1)
    apply_gate(tracking_settings, "credit-risk", v1, {"auc": 0.80}, EVAL)
    v2, _ = log_version(tracking_settings, offset=2)
    assert apply_gate(tracking_settings, "credit-risk", v2, {"auc": 0.85}, EVAL).outcome == "champion"


def test_the_welch_test_tells_worse_from_not_worse() -> None:
    rng = np.random.default_rng(3)
    same = rng.normal(0.2, 0.05, 400)
    assert welch_worse(same[:200], same[200:]) > 0.05
    assert welch_worse(rng.normal(0.2, 0.05, 200), rng.normal(0.25, 0.05, 200)) < 1e-6
    assert welch_worse(rng.normal(0.25, 0.05, 200), rng.normal(0.2, 0.05, 200)) > 0.99  # better
    assert welch_worse([0.0] * 50, [1.0] * 50) == 0.0  # no variance: the means decide
    assert welch_worse([0.0] * 50, [0.0] * 50) == 1.0
    with pytest.raises(ValueError, match="at least two"):
        welch_worse([0.1], [0.2, 0.3])


def test_triggers_drift_quality_schedule_and_none_during_a_canary(tracking_settings: Settings) -> None:
    settings = tracking_settings.model_copy(update={"canary_min_feedback": MIN_FEEDBACK})
    assert retrain_triggers(settings, "credit-risk") == []  # no champion yet
    v1, _ = log_version(settings, offset=1)
    apply_gate(settings, "credit-risk", v1, {"auc": 0.80}, EVAL)
    now = _later()
    assert retrain_triggers(settings, "credit-risk", now=now) == []
    assert [t["kind"] for t in retrain_triggers(settings, "credit-risk", now=now, max_age=timedelta(0))] == [
        "schedule"
    ]

    def drift_check(at: datetime) -> None:
        with session_scope(app_engine(settings)) as session:
            repository.record_drift_check(
                session, model_key="credit-risk", model_name=NAME, version=v1,
                window_start=at - timedelta(days=1), window_end=at, checked_at=at, drift_share=0.6,
                dataset_drift=True, reference_rows=100, current_rows=100,
                columns={"monthly_income": {"drifted": True, "score": 0.3, "method": "wasserstein"}},
            )  # fmt: skip

    drift_check(now - timedelta(days=1))
    assert retrain_triggers(settings, "credit-risk", now=now) == []  # one drifted day is not an alarm
    drift_check(now)
    rng = np.random.default_rng(4)
    defaulted = rng.integers(0, 2, MIN_FEEDBACK)
    backwards = np.clip(0.6 - 0.4 * defaulted + rng.uniform(0, 0.3, MIN_FEEDBACK), 0, 1)
    log_outcomes(settings, v1, backwards, defaulted)  # live AUC near 0: far below the bar 0.75
    fired = retrain_triggers(settings, "credit-risk", now=_later())
    assert [t["kind"] for t in fired] == ["drift", "quality"]
    assert "monthly_income" in fired[0]["reason"]
    assert "fails the bar 0.75" in fired[1]["reason"]
    v2, _ = log_version(settings, offset=2)
    apply_gate(settings, "credit-risk", v2, {"auc": 0.78}, EVAL)  # a challenger: its canary decides first
    assert retrain_triggers(settings, "credit-risk", now=_later()) == []


def test_deployment_rows_keep_one_active_canary(canary: tuple[Settings, str, str]) -> None:
    settings, _, v2 = canary
    with session_scope(app_engine(settings)) as session:
        active = session.scalars(
            select(ModelDeployment).where(
                ModelDeployment.status == "active", ModelDeployment.environment == "canary"
            )
        ).all()
        assert [row.model.version for row in active] == [v2]


def test_a_quality_alarm_needs_the_bar_failed_in_most_resamples() -> None:
    from nivesh_ml.config import DEFAULT_QUALITY_BARS
    from nivesh_ml.monitoring.quality import SCORERS
    from nivesh_ml.pipelines.triggers import QUALITY_CONFIDENCE, _share_failing

    bar, scorer = DEFAULT_QUALITY_BARS["credit-risk"], SCORERS["credit-risk"]
    rng = np.random.default_rng(5)
    defaulted = rng.integers(0, 2, 60)

    def pairs(signal: float) -> list[tuple[float, int]]:
        pds = np.clip(signal * defaulted + rng.uniform(0, 1, defaulted.size), 0, 2) / 2
        return [(float(p), int(d)) for p, d in zip(pds, defaulted, strict=True)]

    unlucky = pairs(0.25)  # a little under the bar on 60 outcomes: chance, not a trend
    assert scorer.score(unlucky)["auc"] < bar.threshold
    assert _share_failing(scorer.score, unlucky, bar) < QUALITY_CONFIDENCE
    broken = pairs(-0.5)  # ranks defaulters lowest: a model that has stopped working
    assert _share_failing(scorer.score, broken, bar) >= QUALITY_CONFIDENCE


def test_the_outcomes_trigger_fires_when_more_defaults_arrive_than_the_champion_expected(
    tracking_settings: Settings,
) -> None:
    settings = tracking_settings.model_copy(update={"canary_min_feedback": 1_000})  # quality stays quiet
    v1, _ = log_version(settings, offset=1)
    apply_gate(settings, "credit-risk", v1, {"auc": 0.80}, EVAL)
    rng = np.random.default_rng(6)
    pds = np.full(400, 0.05)
    log_outcomes(settings, v1, pds, rng.random(400) < 0.05)  # as predicted: 20 defaults expected
    assert retrain_triggers(settings, "credit-risk", now=_later()) == []
    log_outcomes(settings, v1, pds[:30], np.ones(30, dtype=bool), user="U0000007")  # scored 30 times
    assert retrain_triggers(settings, "credit-risk", now=_later()) == []  # one user defaults once
    log_outcomes(settings, v1, pds[:200], rng.random(200) < 0.25)  # a shock: 5x the predicted rate
    fired = retrain_triggers(settings, "credit-risk", now=_later())
    assert [t["kind"] for t in fired] == ["outcomes"]
    assert "defaults among the newest" in fired[0]["reason"]
    assert "outcomes of v1" in fired[0]["reason"]


def test_the_anomaly_outcomes_trigger_expects_the_fraud_rate_of_its_training_data(
    tracking_settings: Settings,
) -> None:
    from nivesh_ml.pipelines.triggers import outcome_alarm
    from nivesh_ml.tracking.store import registered_name

    v1, _ = log_version(tracking_settings, "anomaly", offset=1)
    mlflow = client(tracking_settings)
    run_id = mlflow.get_model_version(registered_name("anomaly"), v1).run_id
    mlflow.log_metric(run_id, "transactions", 10_000)
    mlflow.log_metric(run_id, "anomalies", 60)  # 0.6% of debits
    usual = [(0, 1)] * 3 + [(0, 0)] * 497  # 3 frauds in 500 debits: the training rate
    assert outcome_alarm(tracking_settings, "anomaly", v1, usual) is None
    wave = [(1, 1)] * 15 + [(0, 0)] * 485  # 5x: a fraud wave
    reason = outcome_alarm(tracking_settings, "anomaly", v1, wave)
    assert reason is not None
    assert "15 confirmed frauds among the newest 500 outcomes" in reason
    assert "3.0 expected" in reason
    # a wave that began a day ago: 12 frauds in the newest 150 of 2,000 debits, lost in the whole
    recent = [(0, 0)] * 1_850 + [(0, 1)] * 12 + [(0, 0)] * 138
    reason = outcome_alarm(tracking_settings, "anomaly", v1, recent)
    assert reason is not None
    assert "12 confirmed frauds among the newest 250 outcomes" in reason


def test_a_user_counts_once_at_the_place_of_their_newest_outcome() -> None:
    from types import SimpleNamespace

    from nivesh_ml.pipelines.triggers import _newest_per_user

    first, other, again = (
        SimpleNamespace(id=n, user_id=u) for n, u in (("p1", "U1"), ("p2", "U2"), ("p3", "U1"))
    )
    assert _newest_per_user("credit-risk", [first, other, again]) == [other, again]
    assert _newest_per_user("anomaly", [first, other, again]) == [first, other, again]  # one per debit
