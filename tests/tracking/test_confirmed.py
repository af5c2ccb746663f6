"""Outcomes arrive with the data: ingested days' fraud labels become the outcomes of the anomaly
predictions that scored those debits (by user, time and amount), their 90-DPD events the outcomes
of the credit-risk scores whose horizon they close (by user and the data day of the score), and
nothing else is touched."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import synthetic_dir
from nivesh_ml.data.synthetic.partitions import partition_meta
from nivesh_ml.db import ModelPrediction, repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.monitoring.confirmed import join_confirmed_fraud, join_observed_defaults
from nivesh_ml.pipelines.daily import ingest, prepare_data
from nivesh_ml.tracking.registry import apply_gate

from .conftest import log_version


def _log(settings: Settings, version: str, transaction: dict[str, Any], outcome: Any = None) -> str:
    return _log_as(settings, "nivesh-anomaly", version, {"transaction": transaction, "context": []}, outcome)


def _log_as(settings: Settings, name: str, version: str, inputs: dict[str, Any], outcome: Any = None) -> str:
    with session_scope(app_engine(settings)) as session:
        model = repository.get_model_version(session, name, version)
        assert model is not None
        prediction_id = repository.log_prediction(
            session,
            model_id=model.id,
            input_data=inputs,
            prediction={"score": 0.1},
            latency_ms=1.0,
            user_id=inputs.get("user_id"),
        )
        session.flush()
        if outcome is not None:
            repository.record_feedback(session, prediction_id, outcome)
        return str(prediction_id)


def _outcome(settings: Settings, prediction_id: str) -> Any:
    with session_scope(app_engine(settings)) as session:
        row = session.get(ModelPrediction, uuid.UUID(prediction_id))
        assert row is not None
        return row.actual_outcome


def _request(row: Any) -> dict[str, Any]:
    return {
        "user_id": str(row.user_id), "amount": round(float(row.amount), 2), "merchant": str(row.merchant),
        "category": str(row.category), "channel": str(row.channel),
        "timestamp": pd.Timestamp(row.timestamp).isoformat(), "direction": "debit",
    }  # fmt: skip


def test_ingested_fraud_labels_become_the_outcomes_of_the_predictions_that_scored_them(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(users=400, months=2)
    prepare_data(settings)
    _, new = ingest(settings, 1, scenario="fraud-wave")  # about 5x the usual fraud: a few labelled debits
    day = pd.read_parquet(synthetic_dir(settings) / new[0]["file"])
    debits = day[day["direction"].astype(str) == "debit"]
    frauds, normal = debits[debits["is_anomaly"]], debits[~debits["is_anomaly"]].head(5)
    assert len(frauds) >= 1
    version, _ = log_version(settings, "anomaly", offset=1)
    apply_gate(settings, "anomaly", version, {"recall": 0.9}, "e" * 64)

    scored = {_log(settings, version, _request(row)): True for row in frauds.itertuples(index=False)}
    scored |= {_log(settings, version, _request(row)): False for row in normal.itertuples(index=False)}
    told = _log(settings, version, _request(next(frauds.itertuples(index=False))), {"is_anomaly": False})
    unknown = _log(settings, version, {**_request(next(normal.itertuples(index=False))), "amount": 0.01})

    assert join_confirmed_fraud(settings) == len(scored)
    for prediction_id, fraud in scored.items():
        assert _outcome(settings, prediction_id) == {"is_anomaly": fraud, "source": "data"}
    assert _outcome(settings, told) == {"is_anomaly": False}  # an outcome already given is kept
    assert _outcome(settings, unknown) is None  # no such debit in the data set: left for later
    assert join_confirmed_fraud(settings) == 0  # nothing left to join: running again changes nothing

    late = _log(settings, version, _request(next(frauds.itertuples(index=False))))
    ingest(settings, 1)  # the next day lands: yesterday's debits are confirmed with it
    assert _outcome(settings, late) == {"is_anomaly": True, "source": "data"}


def _dpd90(settings: Settings, record: dict[str, Any]) -> set[str]:
    return set(partition_meta(synthetic_dir(settings) / record["file"])["dpd90"])


def _credit_world(make_settings: Callable[..., Settings], users: int) -> tuple[Settings, Callable[..., str]]:
    """A data set with a 2-day default horizon, a credit-risk champion, and a way to log its scores
    (``score(user, outcome=None)``, returning the prediction id)."""
    settings = make_settings(users=users, months=2, outcome_horizon_days=2)
    prepare_data(settings)
    version, _ = log_version(settings, "credit-risk", offset=1)
    apply_gate(settings, "credit-risk", version, {"auc": 0.9}, "c" * 64)

    def score(user: str, outcome: Any = None) -> str:
        return _log_as(settings, "nivesh-credit-risk", version, {"user_id": user}, outcome)

    return settings, score


def test_observed_defaults_resolve_each_credit_score_once_the_data_covers_its_horizon(
    make_settings: Callable[..., Settings],
) -> None:
    settings, score = _credit_world(make_settings, 400)
    users = [f"U{index:07d}" for index in range(1, 401)]
    as_of_history = {score(user): user for user in users}  # scored before any day is ingested
    told = score(users[0], {"default": True})
    _, day1 = ingest(settings, 1)
    assert all(_outcome(settings, pid) is None for pid in as_of_history)  # 1 of 2 days: not known yet
    as_of_day1 = {score(user): user for user in users[:50]}
    _, day2 = ingest(settings, 1)  # the history's scores' horizon (day 1 and day 2) is closed

    events = _dpd90(settings, day1[0]) | _dpd90(settings, day2[0])
    outcomes = {pid: _outcome(settings, pid) for pid in as_of_history}
    assert outcomes == {
        pid: {"default": user in events, "source": "data"} for pid, user in as_of_history.items()
    }
    # about 1 - (1 - p)^(1/2) of the users a day at p about 7%: a handful of defaults among 400
    assert 5 <= sum(value["default"] for value in outcomes.values()) <= 60
    assert _outcome(settings, told) == {"default": True}  # an outcome already given is kept
    assert all(_outcome(settings, pid) is None for pid in as_of_day1)  # day 1's scores: day 3 closes them
    assert join_observed_defaults(settings) == 0  # running again changes nothing

    _, day3 = ingest(settings, 1)
    later = _dpd90(settings, day2[0]) | _dpd90(settings, day3[0])
    for pid, user in as_of_day1.items():
        assert _outcome(settings, pid) == {"default": user in later, "source": "data"}


def test_days_advanced_before_they_reported_defaults_are_not_read_as_no_default(
    make_settings: Callable[..., Settings],
) -> None:
    import json

    import pyarrow.parquet as pq

    from nivesh_ml.data.synthetic.partitions import META_KEY

    settings, score = _credit_world(make_settings, 200)
    scored = score("U0000001")
    _, day1 = ingest(settings, 1)
    path = synthetic_dir(settings) / day1[0]["file"]  # as an older release wrote it: no 90-DPD events
    table = pq.read_table(path)
    meta = {k: v for k, v in json.loads(table.schema.metadata[META_KEY]).items() if k != "dpd90"}
    pq.write_table(table.replace_schema_metadata({META_KEY: json.dumps(meta).encode()}), path)
    ingest(settings, 1)  # the horizon (day 1 and day 2) is closed, but day 1 said nothing
    assert _outcome(settings, scored) is None
