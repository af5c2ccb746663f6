"""Live quality from feedback: predictions logged through the repository for two versions, outcomes
for some of them, and every metric checked against a hand count; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, select, text

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelPrediction, TrainingDataset, repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.errors import DataError
from nivesh_ml.models.intent.data import load_labelled
from nivesh_ml.models.ner.data import read_examples
from nivesh_ml.monitoring.labels import export_labels
from nivesh_ml.monitoring.quality import live_quality, parse_window, rank_auc
from nivesh_ml.monitoring.quality_metrics import QualityCollector

PG_URL = os.environ.get("NIVESH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
AS_OF = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_settings(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]) -> Iterator[Settings]:
    """Settings whose app DB is SQLite under the home, or a schema of its own on the real PostgreSQL."""
    if request.param == "sqlite":
        yield make_settings()
        return
    schema = f"nivesh_quality_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_settings(database_url=f"{PG_URL}?options=-csearch_path%3D{schema}")
    finally:
        app_engine(make_settings(database_url=f"{PG_URL}?options=-csearch_path%3D{schema}")).dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Log:
    """Predictions of one model written through the repository, at given times, with or without feedback."""

    def __init__(self, settings: Settings, model: str) -> None:
        self.settings, self.name, self.model = settings, f"nivesh-{model}", model

    def add(
        self,
        version: str,
        prediction: dict[str, Any],
        actual: Any = None,
        *,
        at: datetime = AS_OF - timedelta(days=1),
        inputs: dict[str, Any] | None = None,
        user_id: str | None = None,
    ) -> uuid.UUID:
        with session_scope(app_engine(self.settings)) as session:
            row = repository.get_model_version(session, self.name, version)
            if row is None:
                row = repository.register_model_version(
                    session, model_name=self.name, model_type=self.model, version=version,
                    framework="pyfunc", artifact_path="models:/x", created_by="test",
                )  # fmt: skip
            prediction_id = repository.log_prediction(
                session, model_id=row.id, input_data=inputs or {}, prediction=prediction, latency_ms=1.0,
                user_id=user_id,
            )  # fmt: skip
            session.flush()
            logged = session.get(ModelPrediction, prediction_id)
            assert logged is not None
            logged.created_at = at
            if actual is not None:
                repository.record_feedback(session, prediction_id, actual)
        return prediction_id


def _by_version(settings: Settings, model: str, window: timedelta = WEEK) -> dict[str, Any]:
    report = live_quality(settings, model, as_of=AS_OF, window=window)
    return {row.version: row for row in report.versions}


def test_intent_accuracy_per_version_with_unusable_feedback_and_the_window(db_settings: Settings) -> None:
    log = Log(db_settings, "intent")
    said = {"intent": "check_balance", "confidence": 0.9}
    log.add("1", said, "check_balance")
    log.add("1", said, {"intent": "check_balance"})
    log.add("1", said, "spending_query")
    log.add("1", said, 42)  # does not parse: unusable
    log.add("1", said)  # no feedback: not counted
    log.add("1", said, "spending_query", at=AS_OF - WEEK - timedelta(seconds=1))  # before the window
    log.add("1", said, "spending_query", at=AS_OF)  # the window ends before as_of
    log.add("2", {"intent": "spending_query"}, "spending_query", at=AS_OF - WEEK)
    log.add("2", {"intent": "spending_query"}, {"intent": "check_balance"})
    quality = _by_version(db_settings, "intent")
    assert sorted(quality) == ["1", "2"]
    assert (quality["1"].feedback, quality["1"].unusable, quality["1"].metrics) == (4, 1, {"accuracy": 2 / 3})
    assert (quality["2"].feedback, quality["2"].unusable, quality["2"].metrics) == (2, 0, {"accuracy": 0.5})
    assert _by_version(db_settings, "intent", timedelta(days=30))["1"].feedback == 5  # the older one too


def test_credit_risk_auc_and_default_rate(db_settings: Settings) -> None:
    log = Log(db_settings, "credit-risk")
    outcomes = [(0.9, 1), (0.8, {"default": 0}), (0.3, True), (0.3, "0"), (0.1, 0)]
    for probability, actual in outcomes:
        log.add("3", {"probability_of_default": probability, "risk_band": "low"}, actual)
    log.add("3", {"probability_of_default": 0.5}, "maybe")
    log.add("3", {"probability_of_default": 0.5}, 2)
    (row,) = _by_version(db_settings, "credit-risk").values()
    # defaulted {0.9, 0.3} against repaid {0.8, 0.3, 0.1}: 3 + (0 + 0.5 + 1) of 6 pairs
    assert row.metrics == pytest.approx({"auc": 4.5 / 6, "default_rate": 2 / 5, "mean_pd": 2.4 / 5})
    assert (row.feedback, row.unusable) == (7, 2)


def test_anomaly_ner_spending_and_assistant(settings: Settings) -> None:
    anomaly = Log(settings, "anomaly")
    for flagged, actual in [
        (True, True),
        (True, {"is_anomaly": False}),
        (False, 1),
        (False, "false"),
        (True, []),
    ]:
        anomaly.add("1", {"is_anomaly": flagged, "score": 0.5}, actual)
    assert _by_version(settings, "anomaly")["1"].metrics == {
        "anomaly_rate": 0.5,
        "precision": 0.5,
        "recall": 0.5,
    }

    ner = Log(settings, "ner")
    said = {"entities": [{"text": "500", "label": "AMOUNT", "start": 5, "end": 8},
                         {"text": "Ravi", "label": "PERSON", "start": 12, "end": 16}]}  # fmt: skip
    ner.add("1", said, [[5, 8, "AMOUNT"], [12, 16, "MERCHANT"]])  # 1 tp, 1 fp, 1 fn
    ner.add("1", said, {"entities": [{"start": 5, "end": 8, "label": "AMOUNT"}]})  # 1 tp, 1 fp
    ner.add("1", said, [[5, 8]])  # unusable
    row = _by_version(settings, "ner")["1"]
    assert row.unusable == 1
    assert row.metrics == pytest.approx(
        {"precision": 2 / 4, "recall": 2 / 3, "f1": 2 * (1 / 2 * 2 / 3) / (1 / 2 + 2 / 3)}
    )

    spending = Log(settings, "spending")
    forecast = {"forecast": [{"month": "2025-05", "category": "groceries", "amount": 100.0},
                             {"month": "2025-06", "category": "groceries", "amount": 200.0}]}  # fmt: skip
    spending.add("1", forecast, [{"month": "2025-05", "category": "groceries", "amount": 120.0}])
    spending.add("1", forecast, {"2025-06": 150.0, "2025-07": 10.0})  # July has no forecast: ignored
    spending.add("1", forecast, {"2025-05": "a lot"})
    row = _by_version(settings, "spending")["1"]
    assert (row.unusable, row.metrics) == (1, {"wape": pytest.approx((20 + 50) / (120 + 150))})

    assistant = Log(settings, "assistant")
    assistant.add("1", {"reply": "...", "tool": "get_balance"}, "get_balance")
    assistant.add("1", {"reply": "...", "tool": "get_balance"}, {"tool": "spending_summary"})
    assistant.add("1", {"reply": "..."}, "get_balance")  # the version logged no tool: unusable
    row = _by_version(settings, "assistant")["1"]
    assert (row.feedback, row.unusable, row.metrics) == (3, 1, {"tool_accuracy": 0.5})


def test_rank_auc_ties_and_a_single_class() -> None:
    assert rank_auc([0.2, 0.2], [1, 0]) == 0.5
    assert rank_auc([0.1, 0.9, 0.5], [0, 1, 1]) == 1.0
    assert rank_auc([0.1, 0.9], [1, 1]) is None


def test_bad_input_is_a_one_line_error(settings: Settings) -> None:
    with pytest.raises(DataError, match="unknown model 'fraud'"):
        live_quality(settings, "fraud", as_of=AS_OF, window=WEEK)
    with pytest.raises(DataError, match="not like 7d, 30d"):
        parse_window("30 days")
    assert parse_window("30d") == timedelta(days=30)


# --- the gauges ------------------------------------------------------------------------------


def _samples(collector: QualityCollector) -> dict[tuple[str, ...], float]:
    return {
        (sample.name, *sample.labels.values()): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


def _settled(collector: QualityCollector) -> dict[tuple[str, ...], float]:
    """The gauges once the background computation the first scrape started has finished."""
    _samples(collector)
    deadline = time.monotonic() + 10
    while collector._running and time.monotonic() < deadline:
        time.sleep(0.01)
    return _samples(collector)


def test_the_collector_exports_the_same_numbers(settings: Settings) -> None:
    log = Log(settings, "intent")
    log.add("1", {"intent": "a"}, "a")
    log.add("1", {"intent": "a"}, "b")
    log.add("1", {"intent": "a"}, None)
    assert _settled(QualityCollector(settings, clock=lambda: AS_OF)) == {
        ("nivesh_live_quality", "intent", "1", "accuracy"): 0.5,
        ("nivesh_live_feedback_count", "intent", "1"): 2.0,
    }


def test_an_unreachable_database_exports_nothing_and_does_not_raise(
    make_settings: Callable[..., Settings],
) -> None:
    down = make_settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    assert _settled(QualityCollector(down)) == {}


# --- the labels ------------------------------------------------------------------------------


def test_export_writes_each_format_and_a_new_version_for_new_feedback(db_settings: Settings) -> None:
    intent = Log(db_settings, "intent")
    intent.add("1", {"intent": "check_balance"}, "spending_query", inputs={"query": "how much on food"})
    intent.add("2", {"intent": "check_balance"}, {"intent": "check_balance"}, inputs={"query": "balance?"})
    intent.add("2", {"intent": "check_balance"}, 7, inputs={"query": "unusable"})
    first = export_labels(db_settings, "intent", as_of=AS_OF, window=WEEK)
    frame = load_labelled(first / "labels.jsonl")
    assert sorted(frame[["text", "intent"]].itertuples(index=False, name=None)) == [
        ("balance?", "check_balance"),
        ("how much on food", "spending_query"),
    ]
    manifest = json.loads((first / "manifest.json").read_text())
    assert (manifest["rows"], manifest["skipped"], manifest["version"]) == (2, 1, first.name)
    assert first.parent == db_settings.home / "labels" / "intent"
    assert export_labels(db_settings, "intent", as_of=AS_OF, window=WEEK) == first  # same outcomes

    intent.add("2", {"intent": "check_balance"}, "check_balance", inputs={"query": "and now?"})
    second = export_labels(db_settings, "intent", as_of=AS_OF, window=WEEK)
    assert second != first
    with session_scope(app_engine(db_settings)) as session:
        recorded = session.scalars(select(TrainingDataset).order_by(TrainingDataset.size)).all()
        assert [(d.dataset_name, d.content_hash, d.size) for d in recorded] == [
            ("nivesh-intent-feedback", first.name, 2),
            ("nivesh-intent-feedback", second.name, 3),
        ]


def test_export_ner_credit_risk_and_anomaly_files(settings: Settings) -> None:
    ner = Log(settings, "ner")
    ner.add("1", {"entities": []}, [[5, 8, "MONEY"]], inputs={"text": "paid 500 to Ravi"})
    ner.add("1", {"entities": []}, [[5, 8, "AMOUNT"]], inputs={"text": "no such label"})
    ner.add("1", {"entities": []}, [[5, 80, "MONEY"]], inputs={"text": "past the text"})
    (example,) = read_examples(export_labels(settings, "ner", as_of=AS_OF, window=WEEK) / "labels.jsonl")
    assert (example.text, list(map(tuple, example.entities))) == ("paid 500 to Ravi", [(5, 8, "MONEY")])

    profile = {"user_financial_profile:v1": {"monthly_income": 85_000.0, "late_payments_12m": 2}}
    Log(settings, "credit-risk").add(
        "1", {"probability_of_default": 0.2}, 1, inputs={"user_id": "U1", "features": profile}, user_id="U1"
    )
    credit = pd.read_csv(export_labels(settings, "credit-risk", as_of=AS_OF, window=WEEK) / "labels.csv")
    assert credit[["user_id", "monthly_income", "late_payments_12m", "default_12m"]].to_dict("records") == [
        {"user_id": "U1", "monthly_income": 85_000.0, "late_payments_12m": 2, "default_12m": 1}
    ]

    txn = {"user_id": "U1", "amount": 25_000.0, "merchant": "Croma", "category": "shopping",
           "timestamp": "2025-06-28T02:17:00+05:30", "channel": "card"}  # fmt: skip
    Log(settings, "anomaly").add(
        "1", {"is_anomaly": False}, {"is_anomaly": True}, inputs={"transaction": txn}
    )
    anomaly = pd.read_csv(export_labels(settings, "anomaly", as_of=AS_OF, window=WEEK) / "labels.csv")
    assert anomaly.drop(columns=["prediction_id", "model_version", "predicted"]).to_dict("records") == [
        {**txn, "is_anomaly": True}
    ]


def test_export_without_usable_feedback_is_a_one_line_error(settings: Settings, tmp_path: Path) -> None:
    Log(settings, "assistant").add("1", {"tool": "get_balance"}, "get_balance", inputs={"messages": []})
    with pytest.raises(DataError, match="none in a usable form"):
        export_labels(settings, "assistant", as_of=AS_OF, window=WEEK)
