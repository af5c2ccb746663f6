"""The Grafana dashboards are valid, built from deploy/grafana/build.py, and every query in them
returns data from a real Prometheus scraping a real model server.

The stack: a home with every model's tiny champion (credit risk with a challenger in canary, NER
with a challenger that cannot load), a spill file left by an earlier outage, the server as its
own process (``python -m nivesh_ml.serving``), and the ``prometheus`` binary scraping it every
second. Traffic reaches every route, with a bad input, a model fault, an unknown user, a bad key
and a key pushed past its rate limit, so that every series a panel reads exists.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import cloudpickle
import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from nivesh_ml.config import OFFLINE_ENV, Settings
from nivesh_ml.db import repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.db.models import utcnow
from nivesh_ml.serving import ServingConfig
from nivesh_ml.serving.predlog import PredictionRecord
from nivesh_ml.serving.traffic import in_canary
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.runs import start_training_run
from nivesh_ml.tracking.store import MODEL_KEYS

from ..serving import tiny_models
from ..serving.conftest import STATIC_KEY, isolated_settings, put_features, wait_for
from ..serving.tiny_models import EVAL_HASH, EXAMPLE, SIGNATURE, BrokenModel, TinyModel, gate_score, register

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
LIMITED_KEY = "limited-test-key-7d1e5a0c3b"  # static key 1 ("static-1"), pushed past its limit
RATE_LIMIT = 60  # per minute: far above what the main key sends, quickly reached by LIMITED_KEY
TEMPLATE_VALUES = {"__rate_interval": "1m", "__range": "1h", "model": ".*", "feature": ".*"}
QUERY_DEADLINE_S = 30.0


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nivesh_grafana_build", GRAFANA / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in DASHBOARDS}


def _targets(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) of every query of every panel."""
    return [(p["title"], t["expr"]) for p in board["panels"] for t in p.get("targets", [])]


def _concrete(expr: str) -> str:
    """``expr`` as Grafana sends it: template variables replaced (All is ``.*``)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in TEMPLATE_VALUES, f"unknown template variable ${name} in {expr}"
        return TEMPLATE_VALUES[name]

    return re.sub(r"\$\{(\w+)\}|\$([A-Za-z_]\w*)", value, expr)


# --- the dashboards as files ------------------------------------------------------------------


def test_committed_dashboards_are_what_build_py_makes() -> None:
    rendered = _build_module().render()
    assert sorted(rendered) == [path.name for path in DASHBOARDS]
    for path in DASHBOARDS:
        assert path.read_text() == rendered[path.name], (
            f"{path.name} is stale: run python deploy/grafana/build.py"
        )


def test_dashboards_are_valid_and_use_the_provisioned_datasource() -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    (source,) = provisioned["datasources"]
    datasource = {"type": source["type"], "uid": source["uid"]}
    assert datasource == {"type": "prometheus", "uid": "prometheus"}
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "nivesh.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    boards = _dashboards()
    assert len({board["uid"] for board in boards.values()}) == len(boards) == 6
    for name, board in boards.items():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"
        for panel in board["panels"]:
            assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), (name, panel["title"])
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == datasource, (name, panel["title"])
            refs = [target["refId"] for target in panel["targets"]]
            assert refs, (name, panel["title"])
            assert len(refs) == len(set(refs)), (name, panel["title"])
            assert all(target["datasource"] == datasource for target in panel["targets"])
        for variable in board["templating"]["list"]:
            assert variable["datasource"] == datasource, (name, variable["name"])
            assert variable["name"] in TEMPLATE_VALUES


def test_template_substitution_refuses_an_unknown_variable() -> None:
    assert _concrete('rate(x{model=~"$model"}[$__rate_interval])') == 'rate(x{model=~".*"}[1m])'
    assert _concrete('label_replace(x, "a", "$1", "b", "(.*)")') == 'label_replace(x, "a", "$1", "b", "(.*)")'
    with pytest.raises(AssertionError, match="unknown template variable"):
        _concrete("rate(x[$interval])")


# --- the stack: server + Prometheus -----------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    settings: Settings
    server: str
    prometheus: str
    drift_share: float  # of credit risk, in the latest drift check


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reference() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"utilisation": rng.normal(0.4, 0.1, 300), "late_payments": rng.integers(0, 3, 300)})
    return frame.astype(float)


def _register_with_reference(settings: Settings, key: str) -> None:
    """A tiny champion whose training run logged a drift reference, as drift.py expects of a training run."""
    with start_training_run(settings, key) as run:
        run.log_reference(_reference())
        version = run.log_model(TinyModel(key, "v1"), signature=SIGNATURE, input_example=EXAMPLE.head(1))
    score = {settings.quality_bars[key].metric: gate_score(settings, key, 0.5)}
    apply_gate(settings, key, version.version, score, EVAL_HASH)


def _home(root: Path) -> Settings:
    """Every model's tiny champion; credit risk with a drift reference and a canary challenger;
    NER with a challenger that fails to load; a spill file for the server to replay."""
    settings = isolated_settings(root, api_keys=[STATIC_KEY, LIMITED_KEY], rate_limit=f"{RATE_LIMIT}/minute")
    cloudpickle.register_pickle_by_value(tiny_models)  # loadable by the server process
    for key in MODEL_KEYS:
        if key != "credit-risk":
            register(settings, key, TinyModel(key, "v1"))
    _register_with_reference(settings, "credit-risk")
    register(settings, "credit-risk", TinyModel("credit-risk", "v2"), goodness=0.3)  # challenger
    register(settings, "ner", BrokenModel("ner"), goodness=0.3)  # challenger that cannot load
    put_features(settings, _users())
    record = PredictionRecord(
        uuid.uuid4(), "intent", "nivesh-intent", "1", {"query": "spilled during an outage"},
        {"intent": "check_balance"}, 1.0, utcnow(),
    )  # fmt: skip
    spill = ServingConfig().spill_path(settings)
    spill.parent.mkdir(parents=True, exist_ok=True)
    spill.write_text(json.dumps(record.row()) + "\n")
    return settings


def _users() -> list[str]:
    """Two users the credit-risk canary (10%) sends to the challenger, two it does not."""
    users = [f"U{n:07d}" for n in range(1, 500)]
    inside = [user for user in users if in_canary("credit-risk", user, 10)][:2]
    outside = [user for user in users if not in_canary("credit-risk", user, 10)][:2]
    return inside + outside


def _start_server(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("NIVESH_")}
    env.update(OFFLINE_ENV)
    env.update({
        "NIVESH_HOME": str(settings.home), "NIVESH_HOST": "127.0.0.1", "NIVESH_PORT": str(port),
        "NIVESH_API_KEYS": json.dumps([STATIC_KEY, LIMITED_KEY]), "NIVESH_RATE_LIMIT": settings.rate_limit,
        "NIVESH_LOG_FORMAT": "text", "NIVESH_TRUST_MODEL_PICKLES": "true",
    })  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "nivesh_ml.serving"], env=env, stdout=out, stderr=out)


def _start_prometheus(folder: Path, port: int, target: str) -> subprocess.Popen[bytes]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail(
            "prometheus not found: `make test` installs it (Debian package prometheus) when run as root"
        )
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "nivesh-model-server",
                "static_configs": [{"targets": [target], "labels": {"service": "nivesh-ml"}}],
            }
        ],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    args = [
        binary,
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with (folder / "prometheus.log").open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=out)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{log.stem} exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not come up: {log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _log_shifted_traffic(settings: Settings, rows: int = 60) -> None:
    """Credit-risk predictions whose features (flat, as drift.py reads them) moved away from the reference."""
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {"utilisation": rng.normal(0.8, 0.1, rows), "late_payments": rng.integers(0, 3, rows)}
    )
    with session_scope(app_engine(settings)) as session:
        model = repository.get_model_version(session, "nivesh-credit-risk", "1")
        assert model is not None
        for row in frame.astype(float).to_dict("records"):
            repository.log_prediction(
                session,
                model_id=model.id,
                input_data={"features": row},
                prediction={"pd": 0.1},
                latency_ms=1.0,
            )


def _check_drift(settings: Settings) -> float:
    """The drift job (``nivesh-ml drift check credit-risk``) over shifted traffic: its share of drift."""
    from nivesh_ml.monitoring.drift import check_drift  # Evidently: a slow import, only here

    _log_shifted_traffic(settings)
    result = check_drift(settings, "credit-risk", timedelta(hours=1))
    assert result.columns["utilisation"]["drifted"]
    assert not result.columns["late_payments"]["drifted"]
    return result.drift_share


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Prometheus scraping a model server that has seen traffic on every route."""
    root = tmp_path_factory.mktemp("grafana")
    server_port, prometheus_port = _free_port(), _free_port()
    server_url, prometheus_url = f"http://127.0.0.1:{server_port}", f"http://127.0.0.1:{prometheus_port}"
    prometheus = _start_prometheus(root, prometheus_port, f"127.0.0.1:{server_port}")
    processes = [prometheus]
    try:
        settings = _home(root / "var")
        server = _start_server(settings, server_port, root / "server.log")
        processes.append(server)
        drift_share = _check_drift(settings)  # while the server starts
        _wait_ready(f"{prometheus_url}/-/ready", prometheus, root / "prometheus.log")
        _wait_ready(f"{server_url}/health", server, root / "server.log")
        _send_traffic(server_url)
        yield Stack(settings, server_url, prometheus_url, drift_share)
    finally:
        for process in reversed(processes):
            _stop(process)


def _send_traffic(url: str) -> None:
    """Every route, with the answers expected of each; then one key past its rate limit."""
    users = _users()
    txn = {"user_id": users[0], "amount": 25_000.0, "merchant": "Croma", "category": "shopping",
           "timestamp": "2025-03-14T02:17:00+05:30", "channel": "UPI"}  # fmt: skip
    calls: list[tuple[str, str, dict[str, Any] | None, int]] = [
        ("GET", "/health", None, 200),
        ("GET", "/ready", None, 200),
        ("GET", "/models", None, 200),
        ("POST", "/predict/intent", {"query": "what is my balance"}, 200),
        ("POST", "/predict/intent", {"query": "bad"}, 400),  # the model refuses the input
        ("POST", "/predict/intent", {"query": "boom"}, 500),  # a model fault
        ("POST", "/predict/intent", {}, 422),
        ("POST", "/predict/ner", {"text": "paid 500 to Ravi"}, 200),
        ("POST", "/predict/spending", {"user_id": users[1], "horizon_months": 2}, 200),
        ("POST", "/predict/anomaly", {"transaction": txn}, 200),
        *[("POST", "/predict/credit-risk", {"user_id": user}, 200) for user in users],
        ("POST", "/predict/credit-risk", {"user_id": "U9999999"}, 404),  # a feature-store miss
        ("POST", "/assistant/chat", {"messages": [{"role": "user", "content": "hi"}]}, 200),
        ("POST", "/admin/cache/clear", None, 200),
        ("POST", "/admin/reload", None, 200),
    ]
    with httpx.Client(base_url=url, headers={"X-API-Key": STATIC_KEY}, timeout=30) as http:
        for method, path, body, expected in calls:
            response = http.request(method, path, json=body)
            assert response.status_code == expected, (path, body, response.text)
        first = http.post("/predict/intent", json={"query": "spending this month"}).json()["prediction_id"]
        assert (
            http.post("/feedback", json={"prediction_id": first, "actual": "spending_query"}).status_code
            == 204
        )
        assert http.get("/models", headers={"X-API-Key": "not-a-key"}).status_code == 401
        assert http.get("/metrics").status_code == 200
        limited = [
            http.get("/models", headers={"X-API-Key": LIMITED_KEY}).status_code for _ in range(RATE_LIMIT + 2)
        ]
        assert limited.count(429) == 2, limited


# --- every query returns data -----------------------------------------------------------------


def _query(stack: Stack, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack.prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert body["status"] == "success", f"{expr}: {body.get('error')}"
    return list(body["data"]["result"])


def _label_values(stack: Stack, query: str) -> list[str]:
    """What Grafana shows for a ``label_values(selector, label)`` variable."""
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", _concrete(query))
    assert match is not None, query
    params = {"match[]": match.group(1)}
    response = httpx.get(
        f"{stack.prometheus}/api/v1/label/{match.group(2)}/values", params=params, timeout=10
    )
    body = response.json()
    assert body["status"] == "success", f"{query}: {body.get('error')}"
    return list(body["data"])


def _assert_every_query_answers(stack: Stack, names: list[str]) -> None:
    """Each target and variable of the dashboards ``names`` returns data within the deadline."""
    boards = _dashboards()
    pending = {(name, title, expr) for name in names for title, expr in _targets(boards[name])}
    variables = {
        (name, v["name"], v["definition"]) for name in names for v in boards[name]["templating"]["list"]
    }
    deadline = time.monotonic() + QUERY_DEADLINE_S
    while pending or variables:
        pending = {(n, title, expr) for n, title, expr in pending if not _query(stack, _concrete(expr))}
        variables = {(n, var, query) for n, var, query in variables if not _label_values(stack, query)}
        if time.monotonic() > deadline:
            break
        if pending or variables:
            time.sleep(0.5)
    empty = [f"{n} / {title}: {expr}" for n, title, expr in sorted(pending)]
    empty += [f"{n} / variable {var}: {query}" for n, var, query in sorted(variables)]
    assert not empty, "queries with no data:\n" + "\n".join(empty)


def test_prometheus_scrapes_the_server(stack: Stack) -> None:
    assert _query(stack, 'up{job="nivesh-model-server"}')
    challenger = 'nivesh_predictions_total{model="credit-risk", role="challenger"}'
    wait_for(lambda: bool(_query(stack, challenger)), timeout=QUERY_DEADLINE_S)
    (series,) = _query(stack, challenger)
    assert series["metric"]["version"] == "2"
    assert series["metric"]["service"] == "nivesh-ml"


@pytest.mark.parametrize(
    "name", ["model-traffic.json", "canary.json", "feature-store.json", "prediction-log.json", "models.json"]
)
def test_every_query_of_the_dashboard_returns_data(stack: Stack, name: str) -> None:
    _assert_every_query_answers(stack, [name])


def test_the_drift_dashboard_reads_the_latest_drift_check(stack: Stack) -> None:
    exported = httpx.get(f"{stack.server}/metrics", timeout=10).text
    assert "nivesh_drift_share{" in exported, (
        "the model server does not export the drift gauges: register "
        "nivesh_ml.monitoring.drift.DriftCollector(settings) on its registry in serving/app.py create_app"
    )
    _assert_every_query_answers(stack, ["drift.json"])
    (share,) = _query(stack, 'nivesh_drift_share{model="credit-risk"}')
    assert float(share["value"][1]) == pytest.approx(stack.drift_share)
    drifted = _query(stack, 'nivesh_feature_drifted{model="credit-risk"} == 1')
    assert [series["metric"]["feature"] for series in drifted] == ["utilisation"]
