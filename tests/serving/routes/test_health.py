"""/health, /ready and /metrics."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from nivesh_ml.config import Settings
from nivesh_ml.serving import state as state_module

from ..conftest import USERS, MakeClient, put_features


def test_health_is_alive_without_a_key(client: TestClient) -> None:
    response = client.get("/health", headers={"X-API-Key": ""})
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_ready_reports_every_part(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    report = response.json()
    assert report["ready"] is True
    components = report["components"]
    assert set(components) == {"models", "online_store", "database", "rate_limit", "registry"}
    assert components["registry"] == {"ok": True, "detail": "ok"}
    assert components["models"]["credit-risk"] == {"ok": True, "loaded": True, "version": "1", "error": None}
    assert len(components["models"]) == 6
    assert components["online_store"]["ok"]
    assert components["online_store"]["backend"] == "sqlite"
    assert components["database"] == {"ok": True, "detail": "ok"}


def test_ready_is_503_when_a_store_is_unreachable(served_settings: Settings, make_client: MakeClient) -> None:
    settings = served_settings.model_copy(
        update={"database_url": "postgresql+psycopg://nivesh@127.0.0.1:1/x"}
    )
    client = make_client(settings)
    response = client.get("/ready")  # the static key needs no database
    assert response.status_code == 503
    assert response.json()["ready"] is False
    database = response.json()["components"]["database"]
    assert database["ok"] is False
    assert "cannot connect to the app database" in database["detail"]
    # predictions still answer: the log spills until the database is back
    assert client.post("/predict/intent", json={"query": "hi"}).status_code == 200


def test_metrics_export_requests_predictions_models_and_the_feature_store(client: TestClient) -> None:
    client.post("/predict/intent", json={"query": "hi"})
    client.post("/predict/credit-risk", json={"user_id": "U0000001"})
    client.post("/predict/intent", json={"query": ""})
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in (
        'nivesh_http_requests_total{method="POST",route="/predict/intent",status="200"} 1.0',
        'nivesh_http_requests_total{method="POST",route="/predict/intent",status="422"} 1.0',
        'nivesh_http_errors_total{kind="bad_input",route="/predict/intent"} 1.0',
        'nivesh_predictions_total{model="intent",outcome="ok",role="champion",version="1"} 1.0',
        'nivesh_model_info{alias="champion",model="credit-risk",version="1"} 1.0',
        "nivesh_http_requests_in_flight 1.0",  # this very request
        "nivesh_predlog_queue_depth ",
    ):
        assert line in text, line
    for name in (
        'nivesh_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/predict/intent"}',
        'nivesh_model_loaded_timestamp_seconds{alias="champion",model="intent"}',
        'nivesh_model_serve_duration_seconds_count{model="credit-risk",role="champion"}',
        'nivesh_feature_store_latency_seconds_count{backend="sqlite",op="get"}',
    ):
        assert name in text, name


def test_each_app_has_its_own_registry(served_settings: Settings, make_client: MakeClient) -> None:
    first, second = make_client(served_settings), make_client(served_settings)
    first.post("/predict/intent", json={"query": "hi"})
    assert 'route="/predict/intent"' not in second.get("/metrics").text


def test_openapi_documents_every_route_with_the_key_scheme(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    assert paths >= {
        "/predict/intent", "/predict/ner", "/predict/spending", "/predict/anomaly", "/predict/credit-risk",
        "/assistant/chat", "/feedback", "/health", "/ready", "/models", "/metrics", "/admin/reload",
        "/admin/cache/clear",
    }  # fmt: skip
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key (`nivesh-ml keys create NAME`), or one of NIVESH_API_KEYS.",
    }
    intent = schema["paths"]["/predict/intent"]["post"]
    assert intent["security"] == [{"ApiKey": []}]
    assert {"401", "403", "422", "429", "503"} <= set(intent["responses"])
    assert "security" not in schema["paths"]["/health"]["get"]
    request = schema["components"]["schemas"]["IntentRequest"]["properties"]["query"]
    assert request["examples"] == ["how much did I spend on food last month"]
    assert client.get("/docs").status_code == 200


def _redis_settings(served_settings: Settings) -> Settings:
    prefix = f"nivesh-test-{uuid.uuid4().hex[:8]}"
    settings = served_settings.model_copy(update={"online_store": "redis", "redis_key_prefix": prefix})
    put_features(settings, USERS)
    return settings


def test_an_online_store_restarted_empty_is_not_ready_and_users_get_503_not_404(
    served_settings: Settings, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state_module, "EMPTY_CHECK_INTERVAL_S", 0.0)  # no caching of "is it empty?"
    settings = _redis_settings(served_settings)
    client = make_client(settings)
    assert client.get("/ready").status_code == 200
    assert client.post("/predict/credit-risk", json={"user_id": USERS[0]}).status_code == 200
    redis = Redis.from_url(settings.redis_url)
    for key in redis.scan_iter(f"{settings.redis_key_prefix}:*"):  # what a restart without persistence does
        redis.delete(key)
    ready = client.get("/ready")
    assert ready.status_code == 503
    store = ready.json()["components"]["online_store"]
    assert store["ok"] is False
    assert "nivesh-ml features materialize" in store["detail"]
    answer = client.post("/predict/credit-risk", json={"user_id": USERS[0]})
    assert answer.status_code == 503  # the store lost everyone: not "this user is unknown"
    assert "holds no features" in answer.json()["message"]
    put_features(settings, USERS)  # materialised again: ready again
    assert client.get("/ready").status_code == 200


LEAKS = re.compile(r"redis://|postgresql|127\.0\.0\.1|/tmp/|/work/|[A-Z]\w+Error\b|Traceback")


def test_no_error_body_ready_report_or_model_list_says_where_things_live(
    served_settings: Settings, make_client: MakeClient
) -> None:
    settings = served_settings.model_copy(
        update={
            "online_store": "redis",
            "redis_url": "redis://:secret@127.0.0.1:1/0",
            "database_url": "postgresql+psycopg://nivesh:pw@127.0.0.1:1/x",
        }
    )
    client = make_client(settings)
    bodies = [
        client.get("/ready").text,
        client.get("/models").text,
        client.post("/predict/credit-risk", json={"user_id": USERS[0]}).text,
        client.post("/predict/spending", json={"user_id": USERS[0], "horizon_months": 1}).text,
    ]
    assert '"ok":false' in bodies[0]
    for body in bodies:
        assert not LEAKS.search(body), body


@pytest.mark.parametrize(
    ("method", "path", "content", "status"),
    [
        ("GET", "/no/such/route", None, 404),
        ("GET", "/predict/intent", None, 405),
        ("POST", "/predict/intent", b'{"query": "\xc3\x28"}', 400),
    ],
)
def test_framework_refusals_use_the_api_error_shape(
    client: TestClient, method: str, path: str, content: bytes | None, status: int
) -> None:
    response = client.request(method, path, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert set(response.json()) == {"error", "message"}
