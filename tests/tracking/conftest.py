"""Tracking fixtures: the embedded store (SQLite under a temp home), and a real `mlflow server`
on 127.0.0.1 with its own database on the real PostgreSQL as backend store, stopped afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel

from nivesh_ml.config import OFFLINE_ENV, Settings
from nivesh_ml.tracking.store import client

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


class ConstantModel(PythonModel):
    """A tiny pyfunc: predicts ``offset`` plus the first column."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        return model_input.iloc[:, 0] + self.offset


EXAMPLE = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
SIGNATURE = infer_signature(EXAMPLE, EXAMPLE["x"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"mlflow server did not become healthy: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real MLflow server backed by a fresh PostgreSQL database, dropped afterwards."""
    database = f"mlflow_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    folder = tmp_path_factory.mktemp("mlflow-server")
    port, log = _free_port(), folder / "server.log"
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--backend-store-uri", f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"]
    command += ["--artifacts-destination", str(folder / "artifacts"), "--workers", "1"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **OFFLINE_ENV}
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(
    params=[
        pytest.param("embedded", id="embedded"),
        pytest.param("server", id="server", marks=pytest.mark.postgres),
    ]
)
def tracking_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Iterator[Settings]:
    """Settings on the embedded store, and on the real server (registered models removed after)."""
    if request.param == "embedded":
        yield make_settings()
        return
    settings = make_settings(mlflow_tracking_uri=request.getfixturevalue("mlflow_server"))
    yield settings
    mlflow_client = client(settings)
    for model in mlflow_client.search_registered_models():
        mlflow_client.delete_registered_model(model.name)


def log_version(settings: Settings, model: str = "credit-risk", offset: float = 0.0) -> tuple[str, str]:
    """Train-and-register a tiny model version; returns (version, training data hash)."""
    from nivesh_ml.tracking.runs import start_training_run

    train = pd.DataFrame({"x": [float(offset), 1.0, 2.0], "y": [0, 1, 0]})
    with start_training_run(settings, model) as run:
        run.log_params({"offset": offset})
        data_hash = run.log_dataset(
            train, name=f"{model}-train", role="training", source="/tmp/nivesh-test/train.parquet"
        )
        version = run.log_model(ConstantModel(offset), signature=SIGNATURE, input_example=EXAMPLE.head(1))
    return version.version, data_hash
