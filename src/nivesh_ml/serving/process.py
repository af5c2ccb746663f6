"""The model server as a child process on a free loopback port, for jobs that drive it (``simulate``).

:func:`server_process` starts ``python -m nivesh_ml.serving`` on ``home`` with only the ``NIVESH_*``
settings given (the caller's own do not leak in), waits until ``/ready`` answers 200 and stops it
(SIGTERM, so every answered prediction is flushed to the log) when the block ends.
"""

from __future__ import annotations

import os
import socket
import subprocess  # nosec B404  # starts our own server module, argv list, no shell
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from nivesh_ml.config import OFFLINE_ENV
from nivesh_ml.errors import NiveshError

__all__ = ["ServerProcess", "free_port", "server_process"]

START_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class ServerProcess:
    """A running server: its URL, its log file and the process."""

    url: str
    log_path: Path
    process: subprocess.Popen[bytes]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(
    home: Path, log_path: Path, key: str, env: Mapping[str, str] | None = None
) -> Iterator[ServerProcess]:
    """The server on ``home`` (``env``: more ``NIVESH_*`` settings), ready for ``key``; stopped after."""
    port = free_port()
    environment = {name: value for name, value in os.environ.items() if not name.startswith("NIVESH_")}
    datasets = os.environ.get("NIVESH_DATASETS_DIR")
    if datasets:
        environment["NIVESH_DATASETS_DIR"] = datasets
    environment.update(OFFLINE_ENV)
    environment.update({"NIVESH_HOME": str(home), "NIVESH_HOST": "127.0.0.1", "NIVESH_PORT": str(port)})
    environment.update(env or {})
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        process = subprocess.Popen(  # nosec B603  # our own interpreter and module, no shell
            [sys.executable, "-m", "nivesh_ml.serving"], env=environment, stdout=out, stderr=subprocess.STDOUT
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", log_path, process)
    try:
        _wait_ready(server, key)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def _wait_ready(server: ServerProcess, key: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise NiveshError(f"the model server exited ({server.process.returncode}); see {server.log_path}")
        try:
            response = httpx.get(f"{server.url}/ready", headers={"X-API-Key": key}, timeout=5)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:300]}"
        except httpx.HTTPError as error:
            last = str(error)
        time.sleep(0.5)
    raise NiveshError(
        f"the model server was not ready in {START_TIMEOUT_S:.0f} s ({last}); see {server.log_path}"
    )
