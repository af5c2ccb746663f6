"""The app factory: nothing before start-up, CORS, a registry outage, shutdown, uvicorn's log."""

from __future__ import annotations

import io
import logging
import logging.config
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from nivesh_ml.config import Settings
from nivesh_ml.serving import create_app
from nivesh_ml.serving.app import uvicorn_log_config

from .conftest import FAST, STATIC_KEY, MakeClient, predictions


def test_create_app_loads_nothing_until_it_starts(served_settings: Settings) -> None:
    app = create_app(served_settings, config=FAST)
    assert not hasattr(app.state, "nivesh")
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert app.state.nivesh.slots.champion("intent").version == "1"


def test_cors_allows_the_configured_origins_only(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}
    allowed = client.options("/predict/intent", headers={"Origin": "http://localhost:3000", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    refused = client.options("/predict/intent", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    answer = client.post("/predict/intent", json={"query": "hi"}, headers={"Origin": "http://localhost:3000"})
    assert "X-RateLimit-Remaining" in answer.headers["access-control-expose-headers"]


def test_a_registry_outage_at_start_up_is_503_not_a_crash(
    served_settings: Settings, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    settings = served_settings.model_copy(update={"mlflow_tracking_uri": "http://127.0.0.1:1"})
    client = make_client(settings)
    response = client.post("/predict/intent", json={"query": "hi"})
    assert response.status_code == 503
    assert "the model registry did not answer" in response.json()["message"]
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["components"]["registry"]["ok"] is False


def test_shutdown_writes_the_prediction_log_out(served_settings: Settings) -> None:
    config = replace(FAST, predlog_flush_interval_s=30.0)  # nothing written before shutdown
    with TestClient(create_app(served_settings, config=config), headers={"X-API-Key": STATIC_KEY}) as client:
        ids = [client.post("/predict/intent", json={"query": "hi"}).json()["prediction_id"] for _ in range(3)]
    logged = {str(row.id) for row, _ in predictions(served_settings)}
    assert set(ids) <= logged


def test_uvicorn_log_lines_are_redacted(served_settings: Settings) -> None:
    logging.config.dictConfig(uvicorn_log_config(served_settings))
    logger = logging.getLogger("uvicorn.error")
    stream = io.StringIO()
    logger.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        logger.error("client sent %s", "PAN ABCPE1234F and 9876543210")
        assert '"msg": "client sent PAN [PAN] and [PHONE]"' in stream.getvalue()
    finally:
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).handlers = []
