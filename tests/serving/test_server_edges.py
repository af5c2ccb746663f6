"""The server process at its edges: slow and oversized clients, several workers, what a client
may read in a response's headers, and a client that leaves mid-request.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx

from nivesh_ml.config import Settings

from .conftest import STATIC_KEY, wait_for
from .processes import serving


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
    with serving(
        served_settings.home, log_path, NIVESH_HEADER_TIMEOUT_S="1", NIVESH_BODY_TIMEOUT_S="1"
    ) as server:
        url = server.url
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
    with serving(served_settings.home, tmp_path / "server.log") as server:
        url = server.url
        body = json.dumps({"messages": [{"role": "user", "content": f"wait:{gate}"}]})
        request = (
            f"POST /assistant/chat HTTP/1.1\r\nHost: x\r\nX-API-Key: {STATIC_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        )
        assert _raw(url, request.encode(), then_wait=1) == b""  # no answer yet; we hang up
        wait_for(lambda: gate.with_suffix(".cancelled").exists(), timeout=15)  # far below the 30 s deadline
        metrics = httpx.get(f"{url}/metrics").text
        assert 'nivesh_route_rejected_total{reason="client_gone",route="assistant"} 1.0' in metrics


def _ready_lines(log_path: Path) -> int:
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    return sum(line.get("msg") == "model server ready" for line in lines)


def test_two_workers_share_one_rate_limit_and_log_as_one(served_settings: Settings, tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    workers = {"NIVESH_WORKERS": "2", "NIVESH_RATE_LIMIT": "12/minute"}
    with serving(served_settings.home, log_path, **workers) as server:
        # each worker logs through the project's JSON, PII-masked set-up (before: nothing at INFO)
        wait_for(lambda: _ready_lines(log_path) == 2, timeout=120)
        codes = []
        for _ in range(30):  # a new connection each time: the kernel spreads them over both workers
            with httpx.Client(base_url=server.url, headers={"X-API-Key": STATIC_KEY}) as http:
                codes.append(http.post("/predict/intent", json={"query": "hi"}).status_code)
        assert codes.count(200) == 12, codes  # not 12 per worker
        assert set(codes[12:]) == {429}
