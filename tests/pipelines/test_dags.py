"""The Airflow DAGs, run for real with ``dag.test()`` in .venv-airflow (deploy/airflow/setup-venv.sh).

One Airflow process (a temporary AIRFLOW_HOME, SQLite metadata DB) parses the DAG folder and
runs the anomaly retraining DAG, the drift DAG, then the feature refresh DAG; its tasks run our
step functions in this interpreter (NIVESH_PYTHON), each DAG against its own temporary
NIVESH_HOME. The tests read its report (task states, XComs, DAG runs) and the MLflow store the tasks wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel

from nivesh_ml.config import OFFLINE_ENV, Settings, load_settings
from nivesh_ml.data.nivesh import synthetic_dir
from nivesh_ml.db import repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.errors import ConfigError
from nivesh_ml.features.materialize import materialize
from nivesh_ml.features.online import ViewKey, make_online_store
from nivesh_ml.monitoring.drift_space import drift_frame
from nivesh_ml.pipelines.dags.tasks import run_step
from nivesh_ml.pipelines.daily import DAILY_STEPS, prepare_data, refresh_features
from nivesh_ml.pipelines.retrain import STEPS
from nivesh_ml.tracking.loading import resolve_alias
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.runs import start_training_run
from nivesh_ml.tracking.store import MODEL_KEYS, client, registered_name

from ..features.snapshots import write_snapshots

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("NIVESH_DATASETS_DIR", REPO.parent / "shared" / "data")).resolve()
AIRFLOW_VENV = REPO / ".venv-airflow"
DAGS_FOLDER = REPO / "src" / "nivesh_ml" / "pipelines" / "dags"
RETRAIN, DRIFT, REFRESH = "nivesh_retrain_anomaly", "nivesh_drift_weekly", "nivesh_features_refresh"
DAILY = "nivesh_daily"

# Runs in .venv-airflow: create the metadata DB, parse the DAG folder, dag.test() each planned
# (dag_id, conf, NIVESH_HOME), write what happened as JSON.
AIRFLOW_SCRIPT = r"""
import json, os, sys
from airflow.utils.db import initdb

out, plan = sys.argv[1], json.loads(sys.argv[2])
initdb()
from airflow.dag_processing.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select

bag = DagBag()
report = {
    "import_errors": bag.import_errors,
    "dags": {
        d.dag_id: {t.task_id: sorted(t.downstream_task_ids) for t in d.tasks} for d in bag.dags.values()
    },
    "schedules": {d.dag_id: str(d.schedule) for d in bag.dags.values()},
    "runs": {},
}
for dag_id, conf, home in plan:
    os.environ["NIVESH_HOME"] = home  # the tasks' subprocesses inherit it
    run = bag.dags[dag_id].test(run_conf=conf)
    with create_session() as session:
        xcoms = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=dag_id, key="return_value"))
        tis = run.get_task_instances(session=session)
        report["runs"][dag_id] = {
            "state": str(run.state),
            "tasks": {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in tis},
            "xcom": {f"{x.task_id}[{x.map_index}]": XComModel.deserialize_value(x) for x in xcoms},
        }
with create_session() as session:
    report["dag_runs"] = [
        {"dag_id": r.dag_id, "state": str(r.state), "conf": r.conf, "by": r.triggered_by.value}
        for r in session.scalars(select(DagRun))
    ]
with open(out, "w") as file:
    json.dump(report, file, default=str)
"""


@dataclass(frozen=True)
class Airflow:
    """What the Airflow process reported, and the NIVESH_HOME each DAG ran against."""

    report: dict[str, Any]
    homes: dict[str, Path]

    def run(self, dag_id: str) -> dict[str, Any]:
        """State, task states and return values of the ``dag.test()`` run of ``dag_id``."""
        run: dict[str, Any] = self.report["runs"][dag_id]
        return run


def _settings(home: Path) -> Settings:
    return load_settings(_env_file=None, home=home, datasets_dir=SHARED_DATA, users=60, months=8)


class Echo(PythonModel):
    def predict(
        self, context: object, model_input: pd.DataFrame, params: dict[str, object] | None = None
    ) -> object:
        return model_input


def _frame(n: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"utilisation": rng.normal(0.4 + shift, 0.1, n), "income": rng.normal(50_000 * (1 + shift), 5_000, n)}
    )


def _exchange(model: str, row: dict[str, float]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A logged request and answer of ``model`` carrying ``row``'s two values in its drift space."""
    if model == "anomaly":
        transaction = {
            "user_id": "U0000001", "amount": round(row["income"] / 100, 2), "merchant": "Croma",
            "category": "shopping", "channel": "UPI", "timestamp": "2026-01-14T12:00:00+05:30",
            "direction": "debit",
        }  # fmt: skip
        return {"transaction": transaction, "context": []}, {"score": row["utilisation"], "is_anomaly": False}
    return {"features": row}, {}


def _champion_with_traffic(settings: Settings, model: str, traffic: pd.DataFrame) -> None:
    """A champion whose reference is ``_frame(shift=0)`` in its drift space, and its logged traffic."""
    exchanges = [_exchange(model, row) for row in _frame(1_000, 0.0, 1).to_dict("records")]
    reference = drift_frame(model, exchanges)
    with start_training_run(settings, model) as run:
        run.log_reference(reference)
        version = run.log_model(Echo(), signature=infer_signature(reference), input_example=reference.head(1))
    apply_gate(settings, model, version.version, {"auc": 0.9, "recall": 0.9}, "a" * 64)
    with session_scope(app_engine(settings)) as session:
        row = repository.get_model_version(session, registered_name(model), version.version)
        assert row is not None
        for request, answer in (_exchange(model, features) for features in traffic.to_dict("records")):
            repository.log_prediction(
                session, model_id=row.id, input_data=request, prediction=answer, latency_ms=1.0
            )


def _features_30_hours_old(settings: Settings) -> None:
    """Two users' features in every view, online since 30 hours ago (transaction_stats: 18 h left)."""
    write_snapshots(settings, ["U0000001", "U0000002"], datetime(2026, 1, 1, tzinfo=UTC))
    online = make_online_store(settings)
    try:
        materialize(settings, online, as_of=datetime.now(UTC) - timedelta(hours=30))
    finally:
        online.close()


def _airflow_env(home: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("NIVESH_", "AIRFLOW"))}
    return {
        **inherited,
        **OFFLINE_ENV,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "NIVESH_PYTHON": sys.executable,  # the tasks run in this venv, where nivesh_ml lives
        "NIVESH_DATASETS_DIR": str(SHARED_DATA),
        "NIVESH_USERS": "60",
        "NIVESH_MONTHS": "8",  # the anomaly retrain reads the home's data: its split needs 8 months
    }


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    """Run the anomaly retraining DAG on fresh data, then the drift DAG on seeded traffic."""
    if not (AIRFLOW_VENV / "bin/python").exists():
        pytest.fail(f"{AIRFLOW_VENV} is missing: run deploy/airflow/setup-venv.sh (make test runs it)")
    root = tmp_path_factory.mktemp("airflow")
    homes = {
        RETRAIN: root / "retrain-var", DRIFT: root / "drift-var", REFRESH: root / "refresh-var",
        DAILY: root / "daily-var",
    }  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        for name in [name for name in os.environ if name.startswith("NIVESH_")]:
            env.delenv(name)
        settings = _settings(homes[DRIFT])
        _champion_with_traffic(settings, "credit-risk", _frame(300, 1.0, 2))  # drifted
        _champion_with_traffic(settings, "anomaly", _frame(300, 0.0, 3))  # same distribution
        _features_30_hours_old(_settings(homes[REFRESH]))
        prepare_data(_settings(homes[DAILY]))  # a data set and its features, before the day
        refresh_features(_settings(homes[DAILY]))
    plan = [
        (RETRAIN, {"quick": True}, str(homes[RETRAIN])),
        (DRIFT, {"window": "7d", "quick": True}, str(homes[DRIFT])),
        (REFRESH, {}, str(homes[REFRESH])),
        (DAILY, {"days": 1, "scenario": "inflation", "quick": True}, str(homes[DAILY])),
    ]
    out = root / "report.json"
    args = [str(AIRFLOW_VENV / "bin/python"), "-c", AIRFLOW_SCRIPT, str(out), json.dumps(plan)]
    done = subprocess.run(
        args, env=_airflow_env(root), capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"the Airflow script failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return Airflow(json.loads(out.read_text()), homes)


def test_the_dag_folder_parses_into_one_retraining_dag_per_model_and_the_drift_dag(airflow: Airflow) -> None:
    report = airflow.report
    assert report["import_errors"] == {}
    retrain = {f"nivesh_retrain_{model}" for model in MODEL_KEYS}
    assert set(report["dags"]) == retrain | {DRIFT, REFRESH, DAILY}
    names = [step.name for step in STEPS]  # the DAG file's copy of the steps matches retrain.STEPS
    for dag_id in retrain:
        assert report["dags"][dag_id] == {a: [b] for a, b in pairwise(names)} | {names[-1]: []}
    drift = report["dags"][DRIFT]
    assert drift == {"check_drift": ["drifted_models"], "drifted_models": ["retrain"], "retrain": []}
    assert report["schedules"][DRIFT] == "@weekly"
    assert report["dags"][REFRESH] == {"refresh": []}
    assert report["schedules"][REFRESH] == "@daily"
    assert report["dags"][DAILY] == {a: [b] for a, b in pairwise(DAILY_STEPS)} | {DAILY_STEPS[-1]: []}
    assert report["schedules"][DAILY] == "@daily"


def test_the_retraining_dag_runs_our_steps_and_registers_a_version(airflow: Airflow) -> None:
    run = airflow.run(RETRAIN)
    assert run["state"] == "success"
    assert run["tasks"] == {f"{step.name}[-1]": "success" for step in STEPS}
    context = run["xcom"]["deploy[-1]"]
    assert context["quick"] is True  # the DAG param reached the train step as a bool
    assert context["validated_rows"]["users"] == 60
    assert context["outcome"] == "champion"
    assert context["deployment"] == [{"environment": "production", "traffic": 100}]
    settings = _settings(airflow.homes[RETRAIN])  # the steps really ran: the store under NIVESH_HOME
    assert resolve_alias(settings, "anomaly") == context["version"]
    run_id = client(settings).get_model_version(registered_name("anomaly"), context["version"]).run_id
    logged = client(settings).get_run(run_id).data.metrics
    assert logged["recall"] == pytest.approx(context["metrics"]["recall"])


def test_the_drift_dag_retrains_the_drifted_model_only(airflow: Airflow) -> None:
    run = airflow.run(DRIFT)
    assert run["state"] == "success"
    verdicts = {v["model"]: v for k, v in run["xcom"].items() if k.startswith("check_drift[")}
    assert set(verdicts) == set(MODEL_KEYS)
    assert verdicts["credit-risk"]["drifted"] is True
    assert verdicts["credit-risk"]["drift_share"] == pytest.approx(1.0)
    assert verdicts["anomaly"]["drifted"] is False
    assert verdicts["anomaly"]["drift_share"] == pytest.approx(0.0)
    for model in set(MODEL_KEYS) - {"credit-risk", "anomaly"}:
        assert verdicts[model]["drifted"] is False
        assert "no version with alias 'champion'" in verdicts[model]["reason"]
    assert run["tasks"]["retrain[0]"] == "success"
    assert "retrain[1]" not in run["tasks"]  # one trigger: one drifted model
    triggered = [r for r in airflow.report["dag_runs"] if r["by"] == "operator"]
    assert [(r["dag_id"], r["state"], r["conf"]) for r in triggered] == [
        ("nivesh_retrain_credit-risk", "queued", {"quick": True})
    ]


def test_the_refresh_dag_keeps_every_view_inside_its_ttl(airflow: Airflow) -> None:
    run = airflow.run(REFRESH)
    assert run["state"] == "success"
    reports = {report["view"]: report for report in run["xcom"]["refresh[-1]"]}
    assert set(reports) == {"user_financial_profile:v1", "spending_patterns:v1", "transaction_stats:v1"}
    for report in reports.values():
        assert (report["written"], report["extended"]) == (0, 2)  # nothing changed: both rows extended
        assert report["age_before_s"] == pytest.approx(30 * 3600, abs=600)
        assert report["age_after_s"] == 0.0
    online = make_online_store(_settings(airflow.homes[REFRESH]))  # the task really wrote the store
    try:
        refreshed = online.refreshed_at(ViewKey("transaction_stats", 1))
    finally:
        online.close()
    assert refreshed is not None
    assert datetime.now(UTC) - refreshed < timedelta(minutes=10)


def test_the_daily_dag_ingests_a_day_builds_incrementally_and_checks_every_model(airflow: Airflow) -> None:
    run = airflow.run(DAILY)
    assert run["state"] == "success"
    assert run["tasks"] == {f"{step}[-1]": "success" for step in DAILY_STEPS}
    settings = _settings(airflow.homes[DAILY])
    manifest = json.loads((synthetic_dir(settings) / "manifest.json").read_text())
    ingested = run["xcom"]["ingest[-1]"]
    assert ingested["ingested"] == [manifest["advanced"]["last_day"]]  # the task really advanced the data
    assert ingested["data_version"] == manifest["version"]
    assert manifest["advanced"]["days"][0]["scenario"] == "inflation"
    assert run["xcom"]["features[-1]"]["snapshots_built"] > 0
    drift = {item["model"]: item for item in run["xcom"]["drift[-1]"]["drift"]}
    assert set(drift) == set(MODEL_KEYS)
    assert all(item["status"] == "skipped" and "no champion" in item["reason"] for item in drift.values())
    assert run["xcom"]["retrain[-1]"] == {"retrains": []}
    assert [c["status"] for c in run["xcom"]["canary[-1]"]["canaries"]] == ["none"] * len(MODEL_KEYS)


def test_a_task_naming_an_unknown_step_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown pipeline step 'train_all'; choose one of extract"):
        run_step("train_all", "anomaly", {})
