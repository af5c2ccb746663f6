"""The server as a real process (``python -m nivesh_ml.serving``, uvicorn on 127.0.0.1): it answers,
shuts down cleanly, and after requests full of Indian PII neither its log nor the prediction
table holds any of it.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nivesh_ml.config import Settings

from .conftest import STATIC_KEY, USERS, predictions
from .processes import Server, serving

PII = {
    "phone": "+91 98765 43210",
    "aadhaar": "2345 6789 0124",
    "card": "4111 1111 1111 1111",
    "pan": "ABCPE1234F",
    "email": "rahul.sharma@example.com",
    "upi": "rahul@okaxis",
    "ifsc": "HDFC0001234",
    "account": "123456789012",
}
TEXT = (
    f"I am Rahul, call {PII['phone']}, aadhaar {PII['aadhaar']}, card {PII['card']}, PAN {PII['pan']}, "
    f"mail {PII['email']}, pay {PII['upi']}, a/c {PII['account']} IFSC {PII['ifsc']}. Rent 1,20,000."
)
# Every form a value could leak in: as written, and as bare digits.
NEEDLES = sorted({*PII.values(), *("".join(c for c in v if c.isdigit()) for v in PII.values())} - {"", "91"})


@pytest.fixture
def server(served_settings: Settings, tmp_path: Path) -> Iterator[Server]:
    """A server process on the shared home, logging at DEBUG."""
    with serving(served_settings.home, tmp_path / "server.log", NIVESH_LOG_LEVEL="DEBUG") as running:
        yield running


def _send_pii(url: str) -> list[str]:
    """Requests with PII on every route; returns the prediction ids."""
    txn = {"user_id": USERS[0], "amount": 25_000.0, "merchant": TEXT, "category": "shopping",
           "timestamp": "2025-03-14T02:17:00+05:30", "channel": "UPI", "description": TEXT}  # fmt: skip
    bodies = [
        ("/predict/intent", {"query": TEXT}),
        ("/predict/ner", {"text": TEXT}),
        ("/predict/anomaly", {"transaction": txn}),
        ("/predict/credit-risk", {"user_id": USERS[0]}),
        ("/predict/spending", {"user_id": USERS[1], "horizon_months": 2}),
        ("/assistant/chat", {"messages": [{"role": "user", "content": TEXT}]}),
    ]
    ids = []
    with httpx.Client(base_url=url, headers={"X-API-Key": STATIC_KEY}, timeout=30) as http:
        for path, body in bodies:
            response = http.post(path, json=body)
            assert response.status_code == 200, (path, response.text)
            ids.append(response.json()["prediction_id"])
        reply = http.post("/assistant/chat", json={"messages": [{"role": "user", "content": TEXT}]}).json()
        assert PII["pan"] not in reply["reply"]
        assert "[PAN]" in reply["reply"]  # the LLM saw it masked
        failed = http.post("/predict/ner", json={"text": "boom " + TEXT})  # a model fault quoting the input
        assert failed.status_code == 500
        feedback = http.post("/feedback", json={"prediction_id": ids[0], "actual": {"note": TEXT}})
        assert feedback.status_code == 204
        assert http.get("/ready").status_code == 200
    return ids


def test_a_real_server_keeps_pii_out_of_its_log_and_the_prediction_table(
    server: Server, served_settings: Settings
) -> None:
    url, log_path, process = server.url, server.log_path, server.process
    ids = _send_pii(url)
    process.send_signal(signal.SIGINT)  # graceful: the prediction log is written out on the way down
    assert process.wait(60) == 0
    log_text = log_path.read_text()
    messages = [json.loads(line)["msg"] for line in log_text.splitlines()]  # every line is JSON
    assert "model server ready" in messages  # it did log
    assert "RuntimeError" in log_text
    assert any('"POST /predict/intent HTTP/1.1" 200' in message for message in messages)  # uvicorn's too
    assert "[PHONE]" in log_text  # the fault's traceback quoted the input, masked
    rows = {str(row.id): row for row, _ in predictions(served_settings)}
    stored = [json.dumps([rows[i].input_data, rows[i].prediction, rows[i].actual_outcome]) for i in ids]
    assert "[AADHAAR]" in stored[1]  # NER echoed the text: masked in its output
    assert "[CARD]" in stored[1]
    assert rows[ids[0]].actual_outcome == {"note": _masked_text()}
    for needle in NEEDLES:
        assert needle not in log_text, needle
        for row in stored:
            assert needle not in row, needle


def _masked_text() -> str:
    return (
        "I am Rahul, call [PHONE], aadhaar [AADHAAR], card [CARD], PAN [PAN], mail [EMAIL], pay [UPI], "
        "a/c [ACCOUNT] IFSC [IFSC]. Rent 1,20,000."
    )
