"""Bounded work per route: a slow route is saturated on its own threads, answers 503 with
Retry-After beyond its queue and its deadline, cancels what it gave up on, and never starves
the other routes or /ready.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from nivesh_ml.config import Settings
from nivesh_ml.errors import ConfigError
from nivesh_ml.serving.bulkhead import DEFAULT_ROUTE_LIMITS, RouteLimit
from nivesh_ml.serving.config import route_limits

from .conftest import FAST, MakeClient, wait_for


def _chat(gate: Path) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": f"wait:{gate}"}]}


def _limited(assistant: RouteLimit) -> dict[str, RouteLimit]:
    return {**DEFAULT_ROUTE_LIMITS, "assistant": assistant}


def _in_flight(client: TestClient, route: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f'nivesh_route_work_in_flight{{route="{route}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"no in-flight gauge for {route}")


def test_a_saturated_slow_route_never_starves_the_others(
    served_settings: Settings, make_client: MakeClient, tmp_path: Path
) -> None:
    config = replace(FAST, route_limits=_limited(RouteLimit(concurrency=2, queue=2, timeout_s=60)))
    client = make_client(served_settings, config=config)
    gate, answers = tmp_path / "open", list[httpx.Response]()
    chats = [threading.Thread(target=lambda: answers.append(client.post("/assistant/chat", json=_chat(gate))))
             for _ in range(45)]  # fmt: skip
    for thread in chats:
        thread.start()
    wait_for(lambda: len(answers) == 41, timeout=30)  # 2 computing and 2 queued; the rest refused at once
    assert {answer.status_code for answer in answers} == {503}
    assert all(int(answer.headers["Retry-After"]) >= 1 for answer in answers)
    assert answers[0].json()["error"] == "unavailable"
    assert _in_flight(client, "assistant") == 4

    others: list[int] = []  # the other routes and /ready answer while the assistant is saturated
    probe = threading.Thread(
        target=lambda: others.extend(
            [
                client.post("/predict/intent", json={"query": "hi"}).status_code,
                client.get("/ready").status_code,
            ]
        )
    )
    probe.start()
    probe.join(timeout=20)
    assert others == [200, 200], "a saturated assistant held up other routes"

    gate.touch()
    for thread in chats:
        thread.join(timeout=30)
    assert sorted(answer.status_code for answer in answers).count(200) == 4
    wait_for(lambda: _in_flight(client, "assistant") == 0)


def test_a_request_past_its_deadline_is_503_and_its_work_is_cancelled(
    served_settings: Settings, make_client: MakeClient, tmp_path: Path
) -> None:
    config = replace(FAST, route_limits=_limited(RouteLimit(concurrency=1, queue=0, timeout_s=0.3)))
    client = make_client(served_settings, config=config)
    gate = tmp_path / "never"
    response = client.post("/assistant/chat", json=_chat(gate))
    assert response.status_code == 503
    assert "did not answer within 0.3 s" in response.json()["message"]
    assert "Retry-After" in response.headers
    wait_for(lambda: gate.with_suffix(".cancelled").exists())  # the model stopped at its next check
    wait_for(lambda: _in_flight(client, "assistant") == 0)
    assert (
        'nivesh_route_rejected_total{reason="timeout",route="assistant"} 1.0' in client.get("/metrics").text
    )
    assert (
        client.post("/assistant/chat", json={"messages": [{"role": "user", "content": "hi"}]}).status_code
        == 200
    )


def test_route_limits_take_overrides_and_refuse_nonsense() -> None:
    limits = route_limits({"assistant": {"concurrency": 1, "timeout_s": 20}})
    assert limits["assistant"] == RouteLimit(
        concurrency=1, queue=DEFAULT_ROUTE_LIMITS["assistant"].queue, timeout_s=20
    )
    assert limits["intent"] == DEFAULT_ROUTE_LIMITS["intent"]
    for bad in (
        {"chat": {"concurrency": 1}},
        {"assistant": {"threads": 2}},
        {"assistant": {"concurrency": 0}},
    ):
        with pytest.raises(ConfigError, match="NIVESH_ROUTE_LIMITS"):
            route_limits(bad)
