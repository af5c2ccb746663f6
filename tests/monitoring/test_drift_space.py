"""Each model's drift row, from what the server really logs; and trained champions checked end to end.

The rows are made from predictions logged the way the server logs them (the route's request body
and response, through ``PredictionRecord.row``: JSON-safe and PII-masked). The end-to-end checks
compare the reference a trainer logged with traffic drawn like it and with shifted traffic,
through the real MLflow store and app DB: anomaly and NER trained in quick mode here (seconds),
intent on the session's intent model (the fixture of tests/models/intent/conftest.py, same folder
and marker: trained once per test session, by whichever of them runs first).
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete

from nivesh_ml.config import OFFLINE_ENV, QualityBar, Settings, load_settings
from nivesh_ml.db import ModelPrediction, repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.models.anomaly.model import AnomalyDetector
from nivesh_ml.models.anomaly.train import ANOMALY_REFERENCE_ROWS
from nivesh_ml.models.common import TrainOptions, trainer
from nivesh_ml.models.intent.config import DATA_DIR, LABELS, IntentConfig
from nivesh_ml.models.intent.data import load_nivesh_splits
from nivesh_ml.models.intent.train import train as train_intent
from nivesh_ml.models.ner.config import DEFAULT_DATA_DIR
from nivesh_ml.models.ner.data import SPLIT_FILES, read_examples
from nivesh_ml.models.ner.model import load_ner_model
from nivesh_ml.models.pyfunc import unwrap
from nivesh_ml.monitoring.drift import MIN_SEASON_ROWS, check_drift, reference_features, same_season
from nivesh_ml.monitoring.drift_space import (
    ANOMALY_STATS,
    DRIFT_ROWS,
    SPENDING_COLUMNS,
    drift_frame,
    reference_frame,
    reference_sample,
)
from nivesh_ml.serving.predlog import PredictionRecord
from nivesh_ml.serving.schemas import (
    AnomalyRequest,
    AnomalyResponse,
    ChatRequest,
    ChatResponse,
    CreditRiskResponse,
    IntentRequest,
    IntentResponse,
    NerRequest,
    NerResponse,
    SpendingRequest,
    SpendingResponse,
)
from nivesh_ml.tracking.loading import load_model
from nivesh_ml.tracking.store import MODEL_KEYS

Exchange = tuple[dict[str, Any], dict[str, Any]]


def logged(model: str, request: dict[str, Any], response: Any) -> Exchange:
    """``(input_data, prediction)`` as the prediction log stores them."""
    record = PredictionRecord(
        prediction_id=uuid.uuid4(),
        model_key=model,
        model_name=f"nivesh-{model}",
        version="1",
        input_data=request,
        prediction=response.model_dump(mode="json", exclude={"prediction_id"}),
        latency_ms=1.0,
        created_at=datetime.now(UTC),
    )
    row = record.row()
    return row["input_data"], row["prediction"]


def row_of(model: str, request: dict[str, Any], response: Any) -> dict[str, Any]:
    return DRIFT_ROWS[model](*logged(model, request, response))


def answer(kind: type[Any], **fields: Any) -> Any:
    return kind(prediction_id=uuid.uuid4(), model_version="1", **fields)


# --- one row per model ---------------------------------------------------------------------------


def test_every_model_has_a_row_function() -> None:
    assert set(DRIFT_ROWS) == set(MODEL_KEYS)


def test_credit_risk_row_is_the_profile_features_with_a_logged_nan_read_back_as_nan() -> None:
    features = {
        "monthly_income": 85_000.0,
        "credit_utilisation": math.nan,
        "n_loans": 1,
        "has_salary_account": True,
    }
    request = {"user_id": "U0000042", "features": {"user_financial_profile:v1": features}}
    response = answer(CreditRiskResponse, probability_of_default=0.12, risk_band="low")
    row = row_of("credit-risk", request, response)
    assert row.keys() == features.keys()
    assert math.isnan(row["credit_utilisation"])  # the log writes the string "NaN"
    assert (row["monthly_income"], row["n_loans"], row["has_salary_account"]) == (85_000.0, 1, True)


def test_spending_row_is_the_spend_the_forecaster_reads() -> None:
    view = dict.fromkeys(SPENDING_COLUMNS, 1000.0) | {
        "spend_groceries_90d": 12_500.0,
        "spend_trend_groceries": 1.1,
        "top_merchants_90d": ["BigBasket", "Swiggy", "Zomato"],
    }
    body = SpendingRequest(user_id="U0000042", horizon_months=3).model_dump(mode="json")
    request = {**body, "features": {"spending_patterns:v1": view}}
    point = {
        "month": "2025-04",
        "category": "groceries",
        "amount": 4_100.0,
        "lower": 3_000.0,
        "upper": 5_200.0,
    }
    row = row_of("spending", request, answer(SpendingResponse, forecast=[point]))
    assert tuple(row) == SPENDING_COLUMNS
    assert row["spend_groceries_90d"] == 12_500.0
    assert len(SPENDING_COLUMNS) == 36  # 12 categories x 30, 90 and 365 days


def test_anomaly_row_is_the_debit_its_context_the_users_usual_and_the_verdict() -> None:
    body = AnomalyRequest.model_validate(
        {
            "transaction": {
                "user_id": "U0000042",
                "amount": 48_500.0,
                "merchant": "Croma",
                "category": "shopping",
                "timestamp": "2025-03-13T20:47:00+00:00",  # 02:17 the next day in India
                "channel": "card",
            },
            "context": [
                {"amount": 120.0, "merchant": "Chai Point", "timestamp": "2025-03-13T19:00:00+00:00"},
                {"amount": 99.0, "merchant": "Netflix", "timestamp": "2025-03-13T18:00:00+00:00"},
                {
                    "amount": 5_000.0,
                    "merchant": "Employer",
                    "timestamp": "2025-03-13T10:00:00+00:00",
                    "direction": "credit",
                },
            ],
        }
    ).model_dump(mode="json")
    stats = {"debit_count_365d": 410, "debit_amount_mean_365d": 1_850.0, "debit_amount_p99_365d": 22_000.0}
    request = {**body, "features": {"transaction_stats:v1": stats | {"night_share_365d": math.nan}}}
    response = answer(AnomalyResponse, is_anomaly=True, score=0.91, reasons=["unusual amount"])
    row = row_of("anomaly", request, response)
    assert row.pop("night_share_365d") != row.get("night_share_365d")  # NaN, read back from "NaN"
    assert row == {
        "amount": 48_500.0,
        "hour": 2.0,
        "category": "shopping",
        "channel": "card",
        "context_debits": 2,
        **{name: float(value) for name, value in stats.items()},
        "score": 0.91,
        "flagged": True,
        "_season": "mid",  # the 14th in India: the middle of the month
    }
    assert set(ANOMALY_STATS) == {*stats, "night_share_365d"}


def test_a_credit_has_no_anomaly_row_it_is_never_scored() -> None:
    credit = {"amount": 5_000.0, "merchant": "Employer", "category": "salary", "channel": "bank"}
    request = {"transaction": {**credit, "timestamp": "2025-03-13T10:00:00", "direction": "credit"}}
    assert DRIFT_ROWS["anomaly"](request, {"is_anomaly": False, "score": 0.0}) == {}


def test_intent_row_is_the_querys_text_statistics_and_the_answer_on_the_masked_text() -> None:
    query = "PAY ₹450 to 9876543210 today"  # the log masks the phone: [PHONE]
    request = IntentRequest(query=query).model_dump(mode="json")
    response = answer(IntentResponse, intent="transfer_money", confidence=0.83)
    row = row_of("intent", request, response)
    masked = "PAY ₹450 to [PHONE] today"
    assert row == {
        "text_chars": len(masked),
        "text_words": 5,
        "text_digit_share": pytest.approx(3 / len(masked)),
        "text_upper_share": pytest.approx(8 / 15),  # PAY and PHONE: 8 of 15 letters
        "text_currency": True,
        "intent": "transfer_money",
        "confidence": 0.83,
    }


def test_ner_row_counts_the_entities_found_per_label() -> None:
    text = "Paid Rs.1,200 to Swiggy and Rs 300 to Zomato on 3 March"
    request = NerRequest(text=text).model_dump(mode="json")
    entities = [
        {"text": "Rs.1,200", "label": "MONEY", "start": 5, "end": 13},
        {"text": "Swiggy", "label": "MERCHANT", "start": 17, "end": 23},
        {"text": "Rs 300", "label": "MONEY", "start": 28, "end": 34},
        {"text": "Zomato", "label": "MERCHANT", "start": 38, "end": 44},
        {"text": "3 March", "label": "DATE", "start": 48, "end": 55},
    ]
    row = row_of("ner", request, answer(NerResponse, entities=entities))
    counts = {"entities_MONEY": 2, "entities_DATE": 1, "entities_CATEGORY": 0, "entities_MERCHANT": 2}
    assert row == {**row | counts, "entities_ACCOUNT": 0}
    assert (row["text_words"], row["text_currency"]) == (12, True)


@pytest.mark.parametrize(
    ("tool", "reply", "expected"),
    [
        ("get_balance", '{"name": "get_balance", "arguments": {}}', "get_balance"),
        ("no_tool", "I can help with balances, spending, budgets and goals.", "none"),
    ],
)
def test_assistant_row_is_the_last_user_turn_and_the_tool_called(
    tool: str, reply: str, expected: str
) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "what's my hdfc balance?"},
    ]
    request = {
        "messages": ChatRequest.model_validate({"messages": messages}).model_dump(mode="json")["messages"]
    }
    row = row_of("assistant", request, answer(ChatResponse, reply=reply, tool=tool))
    assert (row["text_chars"], row["text_words"], row["tool"]) == (23, 4, expected)


def test_unreadable_predictions_are_left_out_of_the_frame() -> None:
    frame = drift_frame(
        "intent", [({"query": "my balance"}, {"intent": "account_balance"}), ("junk", {}), ({}, {})]
    )
    assert list(frame["intent"]) == ["account_balance"]


def test_a_trainers_reference_row_is_the_row_of_the_same_prediction_logged() -> None:
    request, response = (
        {"query": "send 5000 to ravi@oksbi now"},
        {"intent": "transfer_money", "confidence": 0.7},
    )
    from_trainer = reference_frame("intent", [(request, response)])
    from_log = drift_frame("intent", [logged("intent", request, answer(IntentResponse, **response))])
    pd.testing.assert_frame_equal(from_trainer, from_log)


def test_reference_sample_is_seeded_sorted_and_bounded() -> None:
    assert list(reference_sample(3)) == [0, 1, 2]
    picked = reference_sample(10_000, size=500)
    assert len(picked) == len(set(picked)) == 500
    assert list(picked) == sorted(picked)
    assert list(picked) == list(reference_sample(10_000, size=500))


# --- trained champions, end to end ---------------------------------------------------------------


@pytest.fixture(scope="module")
def train_quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, QualityBar], Settings]]:
    """Train a model in quick mode in a fresh home, under a bar it clears: it becomes champion."""
    with pytest.MonkeyPatch.context() as env:
        for name in [name for name in os.environ if name.startswith("NIVESH_")]:
            env.delenv(name)
        for name, value in OFFLINE_ENV.items():
            env.setenv(name, value)

        def train(model: str, bar: QualityBar) -> Settings:
            home = tmp_path_factory.mktemp(f"drift-{model}") / "var"
            no_public_data = home.parent / "no-datasets"  # NER skips the NLU++ folds: seconds saved
            settings = load_settings(
                _env_file=None, home=home, datasets_dir=no_public_data, quality_bars={model: bar}
            )
            report = trainer(model)(settings, TrainOptions(quick=True))
            assert report.outcome == "champion", report.reason
            return settings

        yield train


def replace_traffic(
    settings: Settings, model: str, kind: type[Any], exchanges: list[Exchange], version: str = "1"
) -> None:
    """The logged predictions of ``model`` become ``exchanges`` (requests and answers), logged as the
    server logs them (by ``version``)."""
    with session_scope(app_engine(settings)) as session:
        registered = repository.get_model_version(session, f"nivesh-{model}", version)
        assert registered is not None
        session.execute(delete(ModelPrediction).where(ModelPrediction.model_id == registered.id))
        for request, response in exchanges:
            input_data, prediction = logged(model, request, answer(kind, **response))
            repository.log_prediction(
                session, model_id=registered.id, input_data=input_data, prediction=prediction, latency_ms=1.0
            )


def anomaly_exchange(row: pd.Series) -> Exchange:
    """A logged debit with the drift row ``row`` (a reference row, or one shifted from it)."""
    when = datetime(2025, 3, 14, int(row["hour"]), 17)  # IST wall clock, as the data's
    transaction = {"user_id": "U0000001", "amount": float(row["amount"]), "merchant": "Croma"}
    transaction |= {"category": row["category"], "channel": row["channel"], "timestamp": when.isoformat()}
    before = [when - timedelta(minutes=5 * (k + 1)) for k in range(int(row["context_debits"]))]
    context = [{"amount": 150.0, "merchant": "Chai Point", "timestamp": t.isoformat()} for t in before]
    body = AnomalyRequest.model_validate({"transaction": transaction, "context": context}).model_dump(
        mode="json"
    )
    stats = {name: float(row[name]) for name in ANOMALY_STATS}
    request = {**body, "features": {"transaction_stats:v1": stats}}
    return request, {"is_anomaly": bool(row["flagged"]), "score": float(row["score"]), "reasons": []}


def test_anomaly_champion_reports_shifted_traffic_and_not_traffic_like_its_reference(
    train_quick: Callable[[str, QualityBar], Settings],
) -> None:
    settings = train_quick("anomaly", QualityBar(metric="recall", threshold=0.0))
    _, reference = reference_features(settings, "anomaly")
    assert list(reference.columns) == [
        "amount", "hour", "category", "channel", "context_debits", *ANOMALY_STATS, "score", "flagged",
        "_season",
    ]  # fmt: skip
    assert 100 <= len(reference) <= ANOMALY_REFERENCE_ROWS
    whole, reference = reference, reference[reference["_season"] == "mid"]  # the traffic is of the 14th
    assert len(reference) >= MIN_SEASON_ROWS
    like = reference.sample(n=300, replace=True, random_state=1)
    # the flag rate is compared with the whole reference's (a rare decision, not a season's)
    like["flagged"] = whole["flagged"].sample(n=300, replace=True, random_state=1).to_numpy()
    replace_traffic(
        settings, "anomaly", AnomalyResponse, [anomaly_exchange(row) for _, row in like.iterrows()]
    )
    calm = check_drift(settings, "anomaly", timedelta(hours=1))
    assert not calm.dataset_drift, calm.columns
    assert (calm.current_rows, calm.reference_rows) == (300, len(reference))  # this season's rows only
    # the same debits, a fifth of them flagged: the inputs did not move, what users get did
    flagging = like.assign(flagged=[k % 5 == 0 for k in range(len(like))])
    replace_traffic(
        settings, "anomaly", AnomalyResponse, [anomaly_exchange(row) for _, row in flagging.iterrows()]
    )
    flags = check_drift(settings, "anomaly", timedelta(hours=1))
    assert flags.dataset_drift, flags.columns
    assert flags.answers_drifted == ("flagged",)
    assert flags.drift_share < settings.drift_threshold("anomaly")
    # big night-time cash withdrawals, scored by the champion itself
    detector = unwrap(load_model(settings, "anomaly", "champion"), AnomalyDetector)
    shifted = like.assign(amount=like["amount"] * 25, hour=3, channel="ATM")
    requests = [anomaly_exchange(row)[0] for _, row in shifted.iterrows()]
    replace_traffic(settings, "anomaly", AnomalyResponse, [(req, detector.serve(req)) for req in requests])
    result = check_drift(settings, "anomaly", timedelta(hours=1))
    assert result.dataset_drift, result.columns
    assert all(result.columns[name]["drifted"] for name in ("amount", "hour", "channel", "score", "flagged"))
    assert not any(result.columns[name]["drifted"] for name in ("category", *ANOMALY_STATS)), result.columns


def ner_texts() -> list[str]:
    return [example.text for example in read_examples(DEFAULT_DATA_DIR / SPLIT_FILES["test"])]


def statement(rng: np.random.Generator) -> str:
    """A bank statement line pasted whole: long, upper case, full of amounts and dates."""
    parts = [
        f"DR INR {rng.integers(1_000, 90_000)}.00 NEFT TO {name} ON {rng.integers(1, 28)} MAR"
        for name in rng.choice(["SWIGGY", "AMAZON", "HDFC CARD", "LIC", "BESCOM"], size=3, replace=False)
    ]
    return " / ".join(parts)


def test_ner_champion_reports_shifted_traffic_and_not_traffic_like_its_reference(
    train_quick: Callable[[str, QualityBar], Settings],
) -> None:
    settings = train_quick("ner", QualityBar(metric="f1", threshold=0.0))
    _, reference = reference_features(settings, "ner")
    texts = ner_texts()
    assert len(reference) == len(texts)  # the whole test split: fewer than 500 texts
    assert {"text_chars", "text_currency", "entities_MONEY", "entities_MERCHANT"} <= set(reference.columns)
    champion = load_ner_model(settings, "champion")
    like = pd.Series(texts).sample(n=200, replace=True, random_state=1)
    replace_traffic(settings, "ner", NerResponse, [({"text": t}, champion.serve({"text": t})) for t in like])
    calm = check_drift(settings, "ner", timedelta(hours=1))
    assert not calm.dataset_drift, calm.columns
    rng = np.random.default_rng(2)
    pasted = [statement(rng) for _ in range(200)]
    replace_traffic(
        settings, "ner", NerResponse, [({"text": t}, champion.serve({"text": t})) for t in pasted]
    )
    result = check_drift(settings, "ner", timedelta(hours=1))
    assert result.dataset_drift, result.columns
    assert all(result.columns[f"text_{name}"]["drifted"] for name in ("chars", "words", "upper_share"))


@pytest.fixture(scope="session")
def intent_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The session's intent model's home: tests/models/intent/conftest.py's, trained here if not yet."""
    folder = tmp_path_factory.getbasetemp() / "intent-session"
    settings = load_settings(
        _env_file=None,
        home=folder / "var",
        quality_bars={"intent": QualityBar(metric="accuracy", threshold=0.5)},
    )
    marker = folder / "report.json"
    if not marker.is_file():
        report = train_intent(settings, TrainOptions(), config=IntentConfig(epochs=2, max_len=32))
        saved = {"bundle": report.extra["bundle"], "metrics": report.metrics, "version": report.version}
        marker.write_text(json.dumps(saved))
    return settings


def test_intent_champion_reports_shifted_traffic_and_not_traffic_like_its_reference(
    intent_settings: Settings,
) -> None:
    version, reference = reference_features(intent_settings, "intent")
    queries = load_nivesh_splits(DATA_DIR, LABELS).test["text"]
    assert len(reference) == len(queries)  # the whole test split: fewer than 500 queries
    assert {"text_chars", "text_currency", "intent", "confidence"} <= set(reference.columns)
    assert set(reference["intent"]) <= set(LABELS)
    model = load_model(intent_settings, "intent", "champion").pyfunc.unwrap_python_model()

    def log(texts: list[str]) -> None:
        exchanges = [({"query": text}, model.serve({"query": text})) for text in texts]
        replace_traffic(intent_settings, "intent", IntentResponse, exchanges, version)

    log(list(queries.sample(n=200, replace=True, random_state=1)))
    calm = check_drift(intent_settings, "intent", timedelta(hours=1))
    assert not calm.dataset_drift, calm.columns
    rng = np.random.default_rng(2)
    log([statement(rng) for _ in range(200)])  # bank statement lines pasted into the chat
    result = check_drift(intent_settings, "intent", timedelta(hours=1))
    assert result.dataset_drift, result.columns
    assert all(result.columns[f"text_{name}"]["drifted"] for name in ("chars", "words", "upper_share"))


def test_traffic_is_compared_with_the_reference_rows_of_its_season() -> None:
    reference = pd.DataFrame({"amount": range(400), "_season": ["turn"] * 150 + ["mid"] * 250})
    turn = same_season(reference, pd.DataFrame({"amount": [1.0], "_season": ["turn"]}))
    assert len(turn) == 150
    assert set(turn["_season"]) == {"turn"}
    both = same_season(reference, pd.DataFrame({"amount": [1.0, 2.0], "_season": ["turn", "mid"]}))
    assert both["_season"].value_counts().to_dict() == {"turn": 150, "mid": 150}  # the traffic's mix
    mostly_mid = same_season(
        reference, pd.DataFrame({"amount": [1.0] * 4, "_season": ["turn"] + ["mid"] * 3})
    )
    assert mostly_mid["_season"].value_counts().to_dict() == {"mid": 250, "turn": 83}
    few = same_season(reference.iloc[100:], pd.DataFrame({"amount": [1.0], "_season": ["turn"]}))
    assert len(few) == 300  # 50 turn rows are too few to stand alone: the whole reference
    assert len(same_season(reference.drop(columns="_season"), turn)) == 400  # no season: all
