"""The model server as a real process (``python -m nivesh_ml.serving``) on a free loopback port,
with the test key and test settings (``nivesh_ml.serving.process`` starts it for ``simulate``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from nivesh_ml.config import OFFLINE_ENV
from nivesh_ml.serving.process import ServerProcess, free_port

from .conftest import STATIC_KEY

Server = ServerProcess  # where it answers, where it logs, the process itself


@contextmanager
def serving(home: Path, log_path: Path, **env: str) -> Iterator[Server]:
    """A server on ``home`` with the static test key and ``env`` (``NIVESH_*``) on top; stopped after."""
    port = free_port()
    environment = {name: value for name, value in os.environ.items() if not name.startswith("NIVESH_")}
    environment.update(OFFLINE_ENV)
    environment.update({
        "NIVESH_HOME": str(home), "NIVESH_PORT": str(port), "NIVESH_API_KEYS": json.dumps([STATIC_KEY]),
        "NIVESH_RATE_LIMIT": "10000/minute", "NIVESH_LOG_FORMAT": "json",
        "NIVESH_TRUST_MODEL_PICKLES": "true", "NIVESH_RELOAD_INTERVAL_S": "0", **env,
    })  # fmt: skip
    with log_path.open("wb") as out:
        command = [sys.executable, "-m", "nivesh_ml.serving"]
        process = subprocess.Popen(command, env=environment, stderr=out, stdout=out)
    server = Server(f"http://127.0.0.1:{port}", log_path, process)
    try:
        _wait_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server exited: {server.log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"server did not come up: {server.log_path.read_text()[-3000:]}")
