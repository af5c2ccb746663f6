"""Malformed bodies on every POST route: always a 4xx with a one-line message, never a 5xx.

This table holds the shapes a probe found accepted, and the ones a fuzzer tries first: wrong
types, missing and extra fields, empty and oversized values, non-JSON, non-objects. Schemathesis
itself runs against real models in ``tests/serving/test_schemathesis.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nivesh_ml.serving.schemas import CREDIT_EXAMPLE

TXN = {
    "user_id": "U0000001",
    "amount": 10.0,
    "merchant": "m",
    "category": "c",
    "timestamp": "2025-01-01T00:00:00Z",
    "channel": "UPI",
}
COMMON: list[Any] = [None, [], "text", 42, True, {}, {"unexpected": 1}]
PER_ROUTE: dict[str, list[Any]] = {
    "/predict/intent": [
        {"query": ""},
        {"query": "\x1c"},
        {"query": 5},
        {"query": None},
        {"query": ["a"]},
        {"query": "x" * 2_001},
        {"query": "ok", "extra": 1},
    ],
    "/predict/ner": [{"text": ""}, {"text": {"a": 1}}, {"text": "x" * 10_001}, {"txt": "a"}],
    "/predict/spending": [
        {"user_id": "U0000001"},
        {"user_id": "U0000001", "horizon_months": 0},
        {"user_id": "U0000001", "horizon_months": 13},
        {"user_id": "U0000001", "horizon_months": "three"},
        {"user_id": "U0000001", "horizon_months": 1.5},
        {"user_id": "", "horizon_months": 1},
        {"user_id": "../../etc/passwd", "horizon_months": 1},
        {"user_id": "U0000001", "horizon_months": 1, "category": ""},
        {"user_id": "U0000001", "horizon_months": 1, "category": "not-a-category"},
    ],
    "/predict/anomaly": [
        {"transaction": {}},
        {"transaction": "txn"},
        {"transaction": {**TXN, "amount": -5}},
        {"transaction": {**TXN, "amount": "lots"}},
        {"transaction": {**TXN, "timestamp": "yesterday"}},
        {"transaction": {k: v for k, v in TXN.items() if k != "merchant"}},
        {"transaction": {**TXN, "user_id": 7}},
        {"transaction": {**TXN, "amount": True}},  # a boolean is not an amount
        {"transaction": {**TXN, "amount": "500"}},  # nor is a string of digits
        {"transaction": {**TXN, "timestamp": "9999-12-31T23:59:59Z"}},  # far future
        {"transaction": {**TXN, "timestamp": "1970-01-01T00:00:00Z"}},  # far past
        {"transaction": {**TXN, "timestamp": 0}},
        {"transaction": TXN, "context": [{**TXN, "timestamp": "2199-01-01T00:00:00Z"}]},
        {"transaction": TXN, "context": [{**TXN, "category": ""}]},
    ],
    "/predict/credit-risk": [
        {"user_id": None},
        {"features": {}},
        {"features": []},
        {"features": "income=5"},
        {"user_id": "U0000001", "features": {"a": 1}},
        {"user_id": 12},
    ],
    "/assistant/chat": [
        {"messages": []},
        {"messages": "hi"},
        {"messages": [{"role": "user"}]},
        {"messages": [{"role": "robot", "content": "hi"}]},
        {"messages": [{"role": "user", "content": "x" * 4_001}]},
        {"messages": [{"role": "user", "content": " \x1c "}]},  # nothing to read
        {"messages": [{"role": "system", "content": "be brief"}]},  # no user turn
        {"messages": [{"role": "user", "content": "hi"}] * 51},
    ],
    "/feedback": [
        {"prediction_id": "not-a-uuid", "actual": 1},
        {"prediction_id": 5, "actual": 1},
        {"actual": 1},
    ],
}
CASES = [(path, body) for path, bodies in PER_ROUTE.items() for body in [*COMMON, *bodies]]


@pytest.mark.parametrize(("path", "body"), CASES, ids=[f"{p}-{i}" for i, (p, _) in enumerate(CASES)])
def test_malformed_body_is_a_client_error_with_a_message(
    module_client: TestClient, path: str, body: Any
) -> None:
    response = module_client.post(path, json=body)
    assert response.status_code in (400, 422), response.text
    error = response.json()
    assert error["error"] in ("bad_request", "invalid_request")
    assert error["message"]
    assert "\n" not in error["message"]


@pytest.mark.parametrize("path", list(PER_ROUTE))
@pytest.mark.parametrize("content", [b"{not json", b"", b"\xff\xfe", b'{"query": "a"'])
def test_a_body_that_is_not_json_is_400(module_client: TestClient, path: str, content: bytes) -> None:
    response = module_client.post(path, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.status_code == 400 or content == b""


@pytest.mark.parametrize("amount", ["Infinity", "NaN", "1e400"])
def test_non_finite_amounts_are_refused(module_client: TestClient, amount: str) -> None:
    fields = ", ".join(f'"{k}": {json.dumps(v)}' for k, v in TXN.items() if k != "amount")
    content = f'{{"transaction": {{{fields}, "amount": {amount}}}}}'
    response = module_client.post(
        "/predict/anomaly", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text


def test_the_message_names_the_field(module_client: TestClient) -> None:
    response = module_client.post("/predict/spending", json={"user_id": "U0000001", "horizon_months": 13})
    assert response.status_code == 422
    assert response.json()["message"] == "horizon_months: Input should be less than or equal to 12"
    assert response.json()["problems"][0]["where"] == "horizon_months"
    assert "input" not in response.json()["problems"][0]  # the input is not echoed (it may hold PII)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused_anywhere_in_a_body(module_client: TestClient, value: str) -> None:
    features = json.dumps(CREDIT_EXAMPLE).replace('"monthly_income": 85000.0', f'"monthly_income": {value}')
    response = module_client.post(
        "/predict/credit-risk",
        content=f'{{"features": {features}}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "NaN and Infinity are not numbers" in response.json()["message"]
    outcome = f'{{"prediction_id": "7b3c1a52-9d4e-4f6a-8b2c-1d2e3f4a5b6c", "actual": {{"score": {value}}}}}'
    response = module_client.post("/feedback", content=outcome, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
