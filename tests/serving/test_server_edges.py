"""The server process at its edges: slow and oversized clients, several workers, what a client
may read in a response's headers, and a client that leaves mid-request.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from nivesh_ml.config import OFFLINE_ENV, Settings

from .conftest import STATIC_KEY, wait_for
from .test_server_process import _free_port, _wait_healthy


@contextmanager
def serving(settings: Settings, log_path: Path, **env: str) -> Iterator[str]:
    """`python -m nivesh_ml.serving` on ``settings.home`` with extra ``NIVESH_*`` variables."""
    port = _free_port()
    environment = {name: value for name, value in os.environ.items() if not name.startswith("NIVESH_")}
    environment.update(OFFLINE_ENV)
    environment.update({
        "NIVESH_HOME": str(settings.home), "NIVESH_PORT": str(port),
        "NIVESH_API_KEYS": json.dumps([STATIC_KEY]), "NIVESH_RATE_LIMIT": "10000/minute",
        "NIVESH_LOG_FORMAT": "json", "NIVESH_TRUST_MODEL_PICKLES": "true", "NIVESH_RELOAD_INTERVAL_S": "0",
        **env,
    })  # fmt: skip
    with log_path.open("wb") as out:
        command = [sys.executable, "-m", "nivesh_ml.serving"]
        process = subprocess.Popen(command, env=environment, stderr=out, stdout=out)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def _raw(url: str, data: bytes, *, then_wait: float) -> bytes:
    """Send ``data`` on a new connection, wait up to ``then_wait`` s for the reply; what came back."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=then_wait) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):  # a server that hangs up on us may reset
            pass
    return b"".join(chunks)


def test_slow_headers_slow_bodies_and_oversized_chunked_bodies_are_cut_off(
    served_settings: Settings, tmp_path: Path
) -> None:
    log_path = tmp_path / "server.log"
    with serving(served_settings, log_path, NIVESH_HEADER_TIMEOUT_S="1", NIVESH_BODY_TIMEOUT_S="1") as url:
        started = time.monotonic()  # headers that never finish: 408 and closed, not held forever
        reply = _raw(url, b"POST /predict/intent HTTP/1.1\r\nHost: x\r\nX-API-", then_wait=20)
        assert reply.startswith(b"HTTP/1.1 408"), reply
        assert time.monotonic() - started < 15

        head = f"POST /predict/intent HTTP/1.1\r\nHost: x\r\nX-API-Key: {STATIC_KEY}\r\n"
        slow_body = (
            head + 'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query": '
        ).encode()
        reply = _raw(url, slow_body, then_wait=20)  # a body that stops arriving
        assert reply.startswith(b"HTTP/1.1 408"), reply
        assert b"the body took over 1 s" in reply

        chunk = b"x" * 65536
        chunked = (head + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        chunked += b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
        reply = _raw(url, chunked, then_wait=20)
        assert reply.startswith(b"HTTP/1.1 413"), reply
        assert b"no-store" in reply  # the guard's own answers carry the headers too

        with httpx.Client(base_url=url, headers={"X-API-Key": STATIC_KEY}) as http:
            ok = http.post("/predict/intent", json={"query": "hi"})
            assert ok.status_code == 200  # the server is fine after all of it
            assert "server" not in ok.headers  # no product banner
            assert ok.headers["cache-control"] == "no-store"
            assert ok.headers["x-content-type-options"] == "nosniff"
    log_text = log_path.read_text()
    assert "Traceback" not in log_text
    assert "Exception in ASGI application" not in log_text


def test_a_client_that_leaves_cancels_its_work(served_settings: Settings, tmp_path: Path) -> None:
    gate = tmp_path / "never"
    with serving(served_settings, tmp_path / "server.log") as url:
        body = json.dumps({"messages": [{"role": "user", "content": f"wait:{gate}"}]})
        request = (
            f"POST /assistant/chat HTTP/1.1\r\nHost: x\r\nX-API-Key: {STATIC_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        )
        assert _raw(url, request.encode(), then_wait=1) == b""  # no answer yet; we hang up
        wait_for(lambda: gate.with_suffix(".cancelled").exists(), timeout=15)  # far below the 30 s deadline
        metrics = httpx.get(f"{url}/metrics").text
        assert 'nivesh_route_rejected_total{reason="client_gone",route="assistant"} 1.0' in metrics


def test_two_workers_share_one_rate_limit_and_log_as_one(served_settings: Settings, tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    with serving(served_settings, log_path, NIVESH_WORKERS="2", NIVESH_RATE_LIMIT="12/minute") as url:
        codes = []
        for _ in range(30):  # a new connection each time: the kernel spreads them over both workers
            with httpx.Client(base_url=url, headers={"X-API-Key": STATIC_KEY}) as http:
                codes.append(http.post("/predict/intent", json={"query": "hi"}).status_code)
        assert codes.count(200) == 12, codes  # not 12 per worker
        assert set(codes[12:]) == {429}
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    ready = [line for line in lines if line.get("msg") == "model server ready"]
    assert len(ready) == 2  # each worker logs through the project's JSON, PII-masked set-up
