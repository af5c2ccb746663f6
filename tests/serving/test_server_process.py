"""The server as a real process (``python -m nivesh_ml.serving``, uvicorn on 127.0.0.1): it answers,
shuts down cleanly, and after requests full of Indian PII neither its log nor the prediction
table holds any of it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nivesh_ml.config import OFFLINE_ENV, Settings

from .conftest import STATIC_KEY, USERS, predictions

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(served_settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """A server process on the shared home; yields its URL, its log file and the process."""
    port, log_path = _free_port(), tmp_path / "server.log"
    env = {name: value for name, value in os.environ.items() if not name.startswith("NIVESH_")}
    env.update(OFFLINE_ENV)
    env.update({
        "NIVESH_HOME": str(served_settings.home), "NIVESH_HOST": "127.0.0.1", "NIVESH_PORT": str(port),
        "NIVESH_API_KEYS": json.dumps([STATIC_KEY]), "NIVESH_RATE_LIMIT": "10000/minute",
        "NIVESH_LOG_LEVEL": "DEBUG", "NIVESH_LOG_FORMAT": "json", "NIVESH_TRUST_MODEL_PICKLES": "true",
    })  # fmt: skip
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "nivesh_ml.serving"], env=env, stderr=out, stdout=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path)
        yield url, log_path, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"server did not come up: {log_path.read_text()[-3000:]}")


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
    server: tuple[str, Path, subprocess.Popen[bytes]], served_settings: Settings
) -> None:
    url, log_path, process = server
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
