"""Model server benchmark: throughput and latency per route, against ``mlflow models serve`` as peer.

In a temporary home it registers a credit-risk-like model (an XGBoost booster over 20 profile
features, with TreeSHAP reason codes, one thread; ``serve`` for our server, ``predict`` for the
peer), fills the online store with ``users`` users, then starts, on 127.0.0.1:

- our server (``python -m nivesh_ml.serving``, one uvicorn worker), and
- the peer, ``mlflow models serve --env-manager local -w 1`` on the same registered version,

and loads each in turn with locust (its own process, closed loop, ``clients`` clients for
``seconds`` seconds per run, one route per run): credit risk by ``features`` in the body (the
same work the peer does), by ``user_id`` (plus the online-store read), and ``/health`` (the
floor); the peer's ``/invocations`` with the same feature row. Run
``python loadtest/bench_server.py [--seconds S --clients N]``; it prints one JSON object: per
route requests/s, p50/p95/p99 (ms) and failures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModel

from nivesh_ml.config import OFFLINE_ENV, Settings, load_settings

LOADTEST = Path(__file__).resolve().parent
FEATURES = (
    "monthly_income", "monthly_spend", "savings_rate", "credit_utilisation", "late_payments_3m",
    "late_payments_12m", "overdrafts_12m", "accounts", "tenure_months", "emi_to_income",
    "avg_balance_3m", "min_balance_3m", "card_spend_share", "cash_withdrawal_share", "salary_regularity",
    "bounced_emis_12m", "loan_count", "credit_limit", "income_volatility", "spend_trend_3m",
)  # fmt: skip
VIEW = "user_financial_profile:v1"
KEY = "bench-static-key-7f3a9c2e51"
RATE_LIMIT = "1000000/minute"
# Our routes, each run alone: by features (the peer's work), by user_id (plus an online-store read),
# and /health (the framework's floor).
SCENARIOS = (
    "credit-risk-features",
    "credit-risk-user",
    "health",
)  # the benchmark measures the server, not its limiter's refusals
BANDS = (("low", 0.1), ("medium", 0.3), ("high", 1.01))


class BenchCreditModel(PythonModel):
    """Credit-risk-like: calibrated-looking PD, band and top-3 reason codes from an XGBoost booster."""

    def load_context(self, context: Any) -> None:
        import xgboost as xgb

        self.booster = xgb.Booster(params={"nthread": 1})
        self.booster.load_model(context.artifacts["booster"])

    def _score(self, matrix: np.ndarray) -> list[dict[str, Any]]:
        import xgboost as xgb

        probabilities = self.booster.inplace_predict(matrix)
        pushes = self.booster.predict(xgb.DMatrix(matrix, feature_names=list(FEATURES)), pred_contribs=True)
        answers = []
        for probability, push in zip(probabilities, pushes, strict=True):
            top = np.argsort(-push[:-1])[:3]
            band = next(name for name, upper in BANDS if probability < upper)
            reasons = [FEATURES[i] for i in top if push[i] > 0]
            answers.append(
                {"probability_of_default": float(probability), "risk_band": band, "reasons": reasons}
            )
        return answers

    def serve(self, request: dict[str, Any]) -> dict[str, Any]:
        """The server's hot path: one user's profile view -> one answer."""
        row = request["features"][VIEW]
        matrix = np.array([[row.get(name, np.nan) for name in FEATURES]], dtype=np.float32)
        return self._score(matrix)[0]

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        """The peer's path: a frame of the feature columns -> a frame of answers."""
        matrix = model_input.reindex(columns=list(FEATURES)).to_numpy(dtype=np.float32)
        return pd.DataFrame(self._score(matrix))


def _training_frame(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.gamma(2.0, 1.0, size=(rows, len(FEATURES))), columns=list(FEATURES))
    logit = frame["late_payments_12m"] * 0.8 + frame["credit_utilisation"] * 0.6 - frame["savings_rate"] - 2.5
    labels = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, labels


def register_bench_model(settings: Settings, folder: Path) -> str:
    """Train the booster, log and register the pyfunc, make it champion; returns its version."""
    import cloudpickle
    import xgboost as xgb
    from mlflow.models import infer_signature

    from nivesh_ml.tracking.registry import apply_gate
    from nivesh_ml.tracking.runs import pip_requirements, start_training_run

    frame, labels = _training_frame(5_000, settings.seed)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "nthread": 1, "eta": 0.1},
        xgb.DMatrix(frame, label=labels),
        num_boost_round=100,
    )
    booster.save_model(str(folder / "booster.json"))
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the peer and the server unpickle it
    example = frame.head(2)
    with start_training_run(settings, "credit-risk", run_name="bench-server") as run:
        version = run.log_model(
            BenchCreditModel(),
            artifacts={"booster": str(folder / "booster.json")},
            signature=infer_signature(example),
            input_example=example,
            requirements=pip_requirements("xgboost-cpu"),
            framework="xgboost",
        ).version
    apply_gate(settings, "credit-risk", version, {"auc": 0.9}, "b" * 64)
    return version


def fill_store(settings: Settings, users: int) -> tuple[list[str], dict[str, float]]:
    """Profile-view rows for ``users`` users; returns their ids and one row for the body route."""
    from nivesh_ml.features.online import ViewKey, make_online_store

    frame, _ = _training_frame(users, settings.seed + 1)
    ids = [f"U{n:07d}" for n in range(users)]
    store = make_online_store(settings)
    try:
        rows = {user: frame.iloc[i].to_dict() for i, user in enumerate(ids)}
        store.put_many(ViewKey.parse(VIEW), rows, ttl=timedelta(days=30), event_time=datetime.now(UTC))
    finally:
        store.close()
    return ids, {name: round(float(value), 4) for name, value in frame.iloc[0].items()}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("NIVESH_")}
    # the model class lives in this script, not nivesh_ml: trust its pickle (the location is checked)
    base = {
        "NIVESH_HOME": str(settings.home),
        "NIVESH_RATE_LIMIT": RATE_LIMIT,
        "NIVESH_TRUST_MODEL_PICKLES": "true",
    }
    return {**env, **OFFLINE_ENV, **base, **extra}


@contextmanager
def _process(command: list[str], env: Mapping[str, str], url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(url, process, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up: {log.read_text()[-2000:]}")


def run_locust(
    host: str, user_class: str, env: Mapping[str, str], seconds: int, clients: int, out: Path
) -> dict[str, Any]:
    """One headless locust run in its own process; per request name: rps, p50/p95/p99 (ms), failures."""
    prefix = out / user_class
    command = [sys.executable, "-m", "locust", "-f", str(LOADTEST / "locustfile.py"), "--headless"]
    command += ["-u", str(clients), "-r", str(clients), "-t", f"{seconds}s", "--host", host]
    command += ["--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", user_class]
    subprocess.run(command, env=dict(env), check=True, capture_output=True, timeout=seconds + 120)
    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        return {row["Name"]: _figures(row) for row in csv.DictReader(handle) if row["Name"] != "Aggregated"}


def _figures(row: Mapping[str, str]) -> dict[str, Any]:
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": round(float(row["Requests/s"]), 1),
        "p50_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "p99_ms": float(row["99%"]),
    }


def _ours(settings: Settings, home: Path, locust_env: dict[str, str], seconds: int, clients: int) -> Any:
    port = _free_port()
    env = _env(settings, NIVESH_PORT=str(port), NIVESH_API_KEYS=json.dumps([KEY]), NIVESH_LOG_LEVEL="WARNING")
    url = f"http://127.0.0.1:{port}"
    figures: dict[str, Any] = {}
    with _process([sys.executable, "-m", "nivesh_ml.serving"], env, f"{url}/health", home / "server.log"):
        for route in SCENARIOS:  # one route per run: each has every client to itself
            scenario = {**locust_env, "NIVESH_BENCH_ROUTES": route}
            figures |= run_locust(url, "NiveshUser", scenario, seconds, clients, home)
    return figures


def _peer(
    settings: Settings, version: str, home: Path, locust_env: dict[str, str], seconds: int, clients: int
) -> Any:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        f"models:/nivesh-credit-risk/{version}",
    ]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
    # mlflow execs `uvicorn` by name: the venv's bin must lead the PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**_env(settings), "MLFLOW_TRACKING_URI": settings.tracking_uri, "PATH": path}
    url = f"http://127.0.0.1:{port}"
    with _process(command, env, f"{url}/ping", home / "peer.log"):
        return run_locust(url, "MlflowUser", locust_env, seconds, clients, home)


def bench_server(seconds: int = 20, clients: int = 8, users: int = 1_000) -> dict[str, Any]:
    """The figures of the module docstring, for our server and the MLflow peer."""
    home = Path(tempfile.mkdtemp(prefix="nivesh-bench-server-"))
    try:
        settings = load_settings(
            _env_file=None, home=home / "var", api_keys=[KEY], rate_limit=RATE_LIMIT, trust_model_pickles=True
        )
        version = register_bench_model(settings, home)
        ids, row = fill_store(settings, users)
        locust_env = _env(settings, NIVESH_BENCH_KEY=KEY, NIVESH_BENCH_USERS=",".join(ids))
        locust_env["NIVESH_BENCH_FEATURES"] = json.dumps(row)
        return {
            "model": f"nivesh-credit-risk v{version} (bench booster, 100 trees)",
            "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
            "users": users,
            "clients": clients,
            "seconds": seconds,
            "nivesh": _ours(settings, home, locust_env, seconds, clients),
            "mlflow": _peer(settings, version, home, locust_env, seconds, clients),
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    """Run the benchmark and print its figures as one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="Seconds of load per target.")
    parser.add_argument("--clients", type=int, default=8, help="Concurrent locust clients.")
    parser.add_argument("--users", type=int, default=1_000, help="Users with online features.")
    args = parser.parse_args()
    print(json.dumps(bench_server(args.seconds, args.clients, args.users), indent=2))


if __name__ == "__main__":
    main()
