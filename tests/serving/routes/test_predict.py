"""Every prediction route with the tiny models: answers, features, ids, versions, model faults."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nivesh_ml.config import Settings
from nivesh_ml.serving.schemas import CREDIT_EXAMPLE

from ..conftest import USERS, predictions, wait_for

TXN = {
    "user_id": USERS[0],
    "amount": 48_500.0,
    "merchant": "Croma",
    "category": "shopping",
    "timestamp": "2025-03-14T02:17:00+05:30",
    "channel": "card",
}
GOOD: dict[str, tuple[str, dict[str, Any]]] = {
    "intent": ("/predict/intent", {"query": "what is my balance"}),
    "ner": ("/predict/ner", {"text": "Paid 1,200 to Swiggy"}),
    "spending": ("/predict/spending", {"user_id": USERS[0], "horizon_months": 3, "category": "dining"}),
    "anomaly": ("/predict/anomaly", {"transaction": TXN}),
    "credit-risk": ("/predict/credit-risk", {"user_id": USERS[1]}),
    "assistant": ("/assistant/chat", {"messages": [{"role": "user", "content": "hello"}]}),
}
ALL_VIEWS = ["spending_patterns:v1", "transaction_stats:v1", "user_financial_profile:v1"]


@pytest.mark.parametrize("model", list(GOOD))
def test_every_route_answers_with_an_id_and_the_version(client: TestClient, model: str) -> None:
    path, body = GOOD[model]
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert uuid.UUID(answer["prediction_id"])
    assert answer["model_version"] == "1"
    assert answer["served_by"] == "v1"
    assert response.headers["X-RateLimit-Limit"] == "10000"


def test_answers_carry_each_routes_fields(client: TestClient) -> None:
    intent = _answer(client, "intent")
    assert (intent["intent"], intent["confidence"]) == ("check_balance", 0.91)
    assert intent["alternatives"] == [{"intent": "spending_query", "confidence": 0.05}]
    entities = _answer(client, "ner")["entities"]
    assert entities == [{"text": "Paid 1,200 to Swiggy", "label": "NOTE", "start": 0, "end": 20}]
    forecast = _answer(client, "spending")["forecast"]
    assert [(p["month"], p["category"]) for p in forecast] == [(f"2025-0{m}", "dining") for m in (1, 2, 3)]
    anomaly = _answer(client, "anomaly")
    assert (anomaly["is_anomaly"], anomaly["reasons"]) == (True, ["amount_far_above_usual"])
    credit = _answer(client, "credit-risk")
    assert (credit["probability_of_default"], credit["risk_band"]) == (0.12, "low")
    assert _answer(client, "assistant")["reply"] == "You said: hello"


def _answer(client: TestClient, model: str) -> Any:
    path, body = GOOD[model]
    return client.post(path, json=body).json()


@pytest.mark.parametrize("model", ["spending", "anomaly", "credit-risk"])
def test_user_routes_pass_the_users_online_features(client: TestClient, model: str) -> None:
    path, body = GOOD[model]
    assert client.post(path, json=body).json()["views"] == ALL_VIEWS


def test_other_routes_get_no_features(client: TestClient) -> None:
    assert client.post("/predict/intent", json={"query": "hi"}).json()["views"] == []


@pytest.mark.parametrize("model", ["spending", "anomaly", "credit-risk"])
def test_unknown_user_is_404_with_the_fix(client: TestClient, model: str) -> None:
    path, body = GOOD[model]
    body = {**body, "transaction": {**TXN, "user_id": "U9999999"}} if model == "anomaly" else body
    body = {**body, "user_id": "U9999999"} if model != "anomaly" else body
    response = client.post(path, json=body)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "U9999999" in response.json()["message"]
    assert "features materialize" in response.json()["message"]


def test_credit_risk_takes_the_documented_features_filed_under_the_profile_view(client: TestClient) -> None:
    response = client.post("/predict/credit-risk", json={"features": CREDIT_EXAMPLE})
    assert response.status_code == 200
    assert response.json()["views"] == ["user_financial_profile:v1"]


@pytest.mark.parametrize(
    ("features", "where"),
    [
        ({"monthly_income": 50_000}, "features.history_months"),  # the old example: incomplete
        ({**CREDIT_EXAMPLE, "n_loans": 2.5}, "features.n_loans"),
        ({**CREDIT_EXAMPLE, "monthly_income": "85000"}, "features.monthly_income"),
        ({**CREDIT_EXAMPLE, "overdraft_days_3m": 93}, "features.overdraft_days_3m"),
        ({"user_financial_profile:v1": CREDIT_EXAMPLE}, "features"),  # views are the server's business
    ],
)
def test_credit_risk_refuses_features_outside_the_schema(
    client: TestClient, features: dict[str, Any], where: str
) -> None:
    response = client.post("/predict/credit-risk", json={"features": features})
    assert response.status_code == 422
    assert any(problem["where"].startswith(where) for problem in response.json()["problems"])


@pytest.mark.parametrize("body", [{}, {"user_id": USERS[0], "features": CREDIT_EXAMPLE}])
def test_credit_risk_needs_exactly_one_of_user_and_features(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/predict/credit-risk", json=body)
    assert response.status_code == 422
    assert "exactly one of user_id and features" in response.json()["message"]


def test_a_model_refusing_its_input_is_400(client: TestClient) -> None:
    response = client.post("/predict/intent", json={"query": "bad"})
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "message": "this model cannot serve that input"}


def test_a_model_fault_is_500_without_its_details(client: TestClient) -> None:
    response = client.post("/predict/ner", json={"text": "boom secret"})
    assert response.status_code == 500
    assert response.json()["message"] == "nivesh-ner v1 failed on this request"
    assert "secret" not in response.text


def test_an_answer_outside_the_api_is_500_naming_the_field(client: TestClient) -> None:
    response = client.post("/predict/intent", json={"query": "shape"})
    assert response.status_code == 500
    assert "nivesh-intent v1 answered outside the API (intent: Field required)" in response.json()["message"]


def test_model_outcomes_are_counted(client: TestClient) -> None:
    for query in ("hi", "bad", "shape", "boom"):
        client.post("/predict/intent", json={"query": query})
    metrics = client.get("/metrics").text
    labels = 'model="intent",outcome="{}",role="champion",version="1"'
    for outcome, count in (("ok", 1), ("bad_input", 1), ("error", 2)):
        assert f"nivesh_predictions_total{{{labels.format(outcome)}}} {count}.0" in metrics


def test_every_prediction_is_logged_with_its_version(client: TestClient, served_settings: Settings) -> None:
    ids = [client.post(path, json=body).json()["prediction_id"] for path, body in GOOD.values()]
    state = client.app.state.nivesh  # type: ignore[attr-defined]
    assert state.predlog.flush(5)
    logged = {str(row.id): (row, version) for row, version in predictions(served_settings)}
    for prediction_id in ids:
        row, version = logged[prediction_id]
        assert version == "1"
        assert row.latency_ms > 0
        assert row.prediction["model_version"] == "1"
    intent_row = logged[ids[0]][0]
    assert intent_row.input_data == {"query": "what is my balance"}
    assert intent_row.confidence == 0.91
    spending_row = logged[ids[2]][0]
    assert spending_row.user_id == USERS[0]
    assert sorted(spending_row.input_data["features"]) == ALL_VIEWS


def test_feedback_records_the_actual_outcome(client: TestClient, served_settings: Settings) -> None:
    prediction_id = client.post("/predict/credit-risk", json={"user_id": USERS[0]}).json()["prediction_id"]
    response = client.post("/feedback", json={"prediction_id": prediction_id, "actual": {"defaulted": True}})
    assert response.status_code == 204
    assert response.content == b""

    def recorded() -> bool:
        rows = {str(row.id): row for row, _ in predictions(served_settings)}
        return rows[prediction_id].actual_outcome == {"defaulted": True}

    wait_for(recorded)


def test_feedback_for_an_unknown_prediction_is_404(client: TestClient) -> None:
    response = client.post("/feedback", json={"prediction_id": str(uuid.uuid4()), "actual": 1})
    assert response.status_code == 404
    assert "no prediction with id" in response.json()["message"]


def test_feedback_needs_a_uuid(client: TestClient) -> None:
    response = client.post("/feedback", json={"prediction_id": "42", "actual": 1})
    assert response.status_code == 422
    assert response.json()["message"].startswith("prediction_id:")


def test_anomaly_takes_the_users_recent_transactions_as_context(
    client: TestClient, served_settings: Settings
) -> None:
    recent = {"amount": 48_500.0, "merchant": "Croma", "timestamp": "2025-03-14T02:05:00+05:30"}
    response = client.post("/predict/anomaly", json={"transaction": TXN, "context": [recent, recent]})
    assert response.status_code == 200, response.text
    prediction_id = response.json()["prediction_id"]

    def logged() -> bool:
        return any(str(row.id) == prediction_id for row, _ in predictions(served_settings))

    wait_for(logged)
    row = next(row for row, _ in predictions(served_settings) if str(row.id) == prediction_id)
    assert [item["merchant"] for item in row.input_data["context"]] == ["Croma", "Croma"]
    bad = client.post("/predict/anomaly", json={"transaction": TXN, "context": [{**recent, "amount": -5}]})
    assert bad.status_code == 422
    assert "context" in bad.text


def test_feedback_is_recorded_while_the_log_writes_predictions(client: TestClient) -> None:
    """On SQLite a read-then-write feedback was refused "database is locked" beside the log's writer."""
    ids = [client.post("/predict/intent", json={"query": "hi"}).json()["prediction_id"] for _ in range(40)]
    stop, traffic = threading.Event(), []

    def predict() -> None:
        while not stop.is_set():
            traffic.append(client.post("/predict/intent", json={"query": "hi"}).status_code)

    writers = [threading.Thread(target=predict) for _ in range(3)]
    for thread in writers:
        thread.start()
    try:
        codes = [
            client.post("/feedback", json={"prediction_id": i, "actual": "check_balance"}).status_code
            for i in ids
        ]
    finally:
        stop.set()
        for thread in writers:
            thread.join()
    assert codes == [204] * len(ids)
    assert set(traffic) == {200}
