"""The server's /metrics shows live quality once predictions have feedback."""

from __future__ import annotations

from fastapi.testclient import TestClient

from nivesh_ml.config import Settings

from .conftest import MakeClient, wait_for
from .tiny_models import TinyModel, register

ACCURACY = 'nivesh_live_quality{metric="accuracy",model="intent",version="1"} 0.5'
FEEDBACK = 'nivesh_live_feedback_count{model="intent",version="1"} 2.0'


def _predict_and_answer(client: TestClient, actual: object | None) -> None:
    answer = client.post("/predict/intent", json={"query": "what is my balance"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["intent"] == "check_balance"
    if actual is not None:
        sent = client.post(
            "/feedback", json={"prediction_id": answer.json()["prediction_id"], "actual": actual}
        )
        assert sent.status_code == 204, sent.text


def test_metrics_show_live_quality_after_predictions_and_feedback(
    fresh_settings: Settings, make_client: MakeClient
) -> None:
    register(fresh_settings, "intent", TinyModel("intent", "v1"))
    client = make_client(fresh_settings)
    for actual in ("check_balance", {"intent": "spending_query"}, None):
        _predict_and_answer(client, actual)
    # the first scrape starts the computation in the background; a later one shows its result
    wait_for(lambda: ACCURACY in client.get("/metrics").text)
    assert FEEDBACK in client.get("/metrics").text
