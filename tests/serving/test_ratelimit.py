"""Rate limits per key: headers, 429 with Retry-After, separate keys, Redis shared by replicas."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import pytest
import redis
from prometheus_client import CollectorRegistry

from nivesh_ml.config import Settings
from nivesh_ml.errors import ConfigError
from nivesh_ml.serving import create_key
from nivesh_ml.serving.metrics import ServerMetrics
from nivesh_ml.serving.ratelimit import RateLimiter

from .conftest import FAST, MakeClient

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_the_limit_is_per_key_with_headers_and_retry_after(
    served_settings: Settings, make_client: MakeClient
) -> None:
    settings = served_settings.model_copy(update={"rate_limit": "3/minute"})
    client = make_client(settings)
    remaining = [
        client.post("/predict/intent", json={"query": "hi"}).headers["X-RateLimit-Remaining"]
        for _ in range(3)
    ]
    assert remaining == ["2", "1", "0"]
    refused = client.post("/predict/intent", json={"query": "hi"})
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["message"].startswith("rate limit of 3 per 1 minute reached; retry in")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert 'nivesh_rate_limited_total{key="static-0"} 1.0' in client.get("/metrics").text
    other = create_key(settings, f"other-{uuid.uuid4().hex[:6]}")
    assert (
        client.post("/predict/intent", json={"query": "hi"}, headers={"X-API-Key": other}).status_code == 200
    )


def test_a_bad_limit_is_a_config_error(served_settings: Settings) -> None:
    settings = served_settings.model_copy(update={"rate_limit": "lots"})
    with pytest.raises(ConfigError, match="NIVESH_RATE_LIMIT='lots'"):
        RateLimiter(settings, ServerMetrics(CollectorRegistry()), prefix="x")


@pytest.mark.redis
def test_replicas_share_the_limit_through_redis(served_settings: Settings, make_client: MakeClient) -> None:
    prefix = f"nivesh:test:ratelimit:{uuid.uuid4().hex[:10]}"
    settings = served_settings.model_copy(update={"rate_limit": "4/minute", "online_store": "redis"})
    config = replace(FAST, rate_limit_prefix=prefix)
    first, second = make_client(settings, config=config), make_client(settings, config=config)
    try:
        statuses = [c.post("/predict/intent", json={"query": "hi"}).status_code for c in (first, second) * 3]
        assert statuses == [200, 200, 200, 200, 429, 429]
        assert redis.Redis.from_url(REDIS_URL).keys(f"{prefix}*")
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = client.keys(f"{prefix}*")
        if keys:
            client.delete(*keys)
        client.close()


def test_an_unreachable_limit_store_lets_requests_through(
    served_settings: Settings, make_client: MakeClient
) -> None:
    settings = served_settings.model_copy(
        update={"online_store": "redis", "redis_url": "redis://127.0.0.1:1/0"}
    )
    client = make_client(settings)
    response = client.post("/predict/intent", json={"query": "hi"})
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response.headers
    assert "nivesh_rate_limit_storage_errors_total 1.0" in client.get("/metrics").text
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["components"]["rate_limit"]["ok"] is False


def test_a_failing_limit_store_is_asked_once_per_retry_period(
    served_settings: Settings, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    settings = served_settings.model_copy(
        update={"online_store": "redis", "redis_url": "redis://127.0.0.1:1/0"}
    )
    client = make_client(settings)
    limiter = client.app.state.nivesh.limiter  # type: ignore[attr-defined]
    asked = []
    real_hit = limiter._limiter.hit
    limiter._limiter.hit = lambda *args: asked.append(1) or real_hit(*args)
    with caplog.at_level("WARNING", logger="nivesh_ml.serving.ratelimit"):
        codes = [client.post("/predict/intent", json={"query": "hi"}).status_code for _ in range(5)]
    assert codes == [200] * 5
    assert len(asked) == 1  # a frozen store would have cost every request its timeout
    assert len([r for r in caplog.records if "rate-limit storage failed" in r.getMessage()]) == 1
    assert "nivesh_rate_limit_storage_errors_total 5.0" in client.get("/metrics").text
