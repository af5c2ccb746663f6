"""Smoke tests of the real `nivesh-ml` console script, run as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from nivesh_ml.config import OFFLINE_ENV, load_settings
from nivesh_ml.features.materialize import materialize
from nivesh_ml.features.online import make_online_store
from nivesh_ml.features.refresh import view_ages

from .features.snapshots import write_snapshots

NIVESH_ML = str(Path(sys.executable).with_name("nivesh-ml"))


def run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NIVESH_")}
    full_env = {
        **clean,
        **OFFLINE_ENV,
        "NIVESH_HOME": str(home),
        "NIVESH_LOG_FORMAT": "json",
        "COLUMNS": "200",
        **env,
    }
    return subprocess.run(
        [NIVESH_ML, *args], capture_output=True, text=True, env=full_env, cwd=home.parent, timeout=300
    )


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["up"],
        ["data"],
        ["data", "generate"],
        ["data", "check"],
        ["models"],
        ["models", "list"],
        ["models", "promote"],
        ["models", "rollback"],
        ["ui"],
        ["db"],
        ["db", "upgrade"],
        ["db", "current"],
        ["serve"],
        ["keys"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke"],
        ["monitor"],
        ["monitor", "quality"],
        ["monitor", "export-labels"],
        ["drift"],
        ["drift", "check"],
        ["canary"],
        ["canary", "decide"],
        ["pipeline", "daily"],
        ["simulate"],
    ],
)
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    result = run([*command, "--help"], tmp_path / "var")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert len(result.stdout.split("Usage:")[1].strip()) > 40  # a real help text, not just the usage line


def test_version(tmp_path: Path) -> None:
    result = run(["--version"], tmp_path / "var")
    assert result.returncode == 0
    assert result.stdout.startswith("nivesh-ml 0.")


def test_bad_setting_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run(["db", "current"], tmp_path / "var", NIVESH_PORT="eighty")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "nivesh-ml: error: NIVESH_PORT='eighty' is not valid: Input should be a valid integer, "
        "unable to parse string as an integer; fix it in the environment or .env"
    ]


def test_bad_option_exits_2(tmp_path: Path) -> None:
    result = run(["data", "generate", "--months", "0"], tmp_path / "var")
    assert result.returncode == 2
    assert "--months" in result.stderr


def test_data_generate_writes_then_skips(tmp_path: Path) -> None:
    home = tmp_path / "var"
    first = run(["data", "generate", "--users", "30", "--months", "2", "--seed", "3"], home)
    assert first.returncode == 0, first.stderr
    out = home / "data" / "synthetic"
    assert {p.name for p in out.iterdir()} >= {"users.parquet", "transactions.parquet", "manifest.json"}
    assert "transactions" in first.stdout
    mtime = (out / "transactions.parquet").stat().st_mtime_ns
    second = run(["data", "generate", "--users", "30", "--months", "2", "--seed", "3"], home)
    assert second.returncode == 0, second.stderr
    assert "already generated" in second.stderr
    assert (out / "transactions.parquet").stat().st_mtime_ns == mtime


def test_data_check_reports_missing_sets_and_exits_2(tmp_path: Path) -> None:
    result = run(["data", "check", "--data-dir", str(tmp_path / "nowhere")], tmp_path / "var")
    assert result.returncode == 2
    assert "banking77" in result.stdout
    assert "problem" in result.stdout


@pytest.mark.shared_data
def test_data_check_passes_on_the_shipped_data(tmp_path: Path, shared_data: Path) -> None:
    result = run(["data", "check", "--data-dir", str(shared_data)], tmp_path / "var")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "problem" not in result.stdout


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    home = tmp_path / "var"
    assert "empty" in run(["db", "current"], home).stdout
    upgraded = run(["db", "upgrade"], home)
    assert upgraded.returncode == 0, upgraded.stderr
    assert (home / "nivesh.db").exists()
    revision = run(["db", "current"], home).stdout.strip()
    assert revision
    assert revision in upgraded.stdout


def test_unreachable_database_exits_2_with_one_line(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres:secret@127.0.0.1:1/test"
    result = run(["db", "upgrade"], tmp_path / "var", NIVESH_DATABASE_URL=url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("nivesh-ml: error:")
    assert "secret" not in lines[0]


def test_up_runs_the_main_job(tmp_path: Path) -> None:
    home = tmp_path / "var"
    result = run(["up", "--no-serve", "--models", "none"], home, NIVESH_USERS="25", NIVESH_MONTHS="2")
    assert result.returncode == 0, result.stderr
    assert (home / "api_key").stat().st_mode & 0o777 == 0o600  # the key make run prints, owner-only
    assert (home / "data" / "synthetic" / "manifest.json").exists()
    assert (home / "nivesh.db").exists()
    assert (home / "features" / "online.sqlite").exists()
    assert "nivesh-ml is up" in result.stderr


def test_features_build_materialize_get(tmp_path: Path) -> None:
    home = tmp_path / "var"
    assert run(["data", "generate", "--users", "40", "--months", "2"], home).returncode == 0
    built = run(["features", "build", "--snapshots", "1"], home)
    assert built.returncode == 0, built.stderr
    materialized = run(["features", "materialize"], home)
    assert materialized.returncode == 0, materialized.stderr
    assert "user_financial_profile:v1" in materialized.stdout
    got = run(["features", "get", "U0000001", "--json"], home)
    assert got.returncode == 0, got.stderr
    rows = json.loads(got.stdout)
    assert "user_financial_profile:v1" in rows
    assert isinstance(rows["user_financial_profile:v1"]["tenure_months"], int)
    table = run(["features", "get", "U0000001", "--view", "spending_patterns"], home)
    assert table.returncode == 0, table.stderr
    assert "spending_patterns:v1" in table.stdout
    missing = run(["features", "get", "U9999999"], home)
    assert missing.returncode == 2
    assert "nivesh-ml features materialize" in missing.stderr


def test_features_refresh_extends_the_views_and_says_so(tmp_path: Path) -> None:
    home = tmp_path / "var"
    settings = load_settings(_env_file=None, home=home, online_store="sqlite")
    write_snapshots(settings, ["U0000001", "U0000002"], datetime(2026, 1, 1, tzinfo=UTC))
    online = make_online_store(settings)
    try:
        materialize(settings, online, as_of=datetime.now(UTC) - timedelta(hours=30))
        result = run(["features", "refresh"], home)
        assert result.returncode == 0, result.stderr
        assert "transaction_stats:v1" in result.stdout
        assert "30.0 h" in result.stdout  # the age before
        assert all(
            age is not None and age < 600 for age in view_ages(online, as_of=datetime.now(UTC)).values()
        )
    finally:
        online.close()
    shutil.rmtree(home / "features" / "transaction_stats")
    missing = run(["features", "refresh"], home)
    assert missing.returncode == 2
    assert "nivesh-ml features build" in missing.stderr


def test_models_commands_on_an_empty_registry(tmp_path: Path) -> None:
    home = tmp_path / "var"
    listed = run(["models", "list"], home)
    assert listed.returncode == 0, listed.stderr
    assert "version" in listed.stdout
    promoted = run(["models", "promote", "intent", "1"], home)
    assert promoted.returncode == 2
    assert promoted.stderr.strip().splitlines() == [
        "nivesh-ml: error: nivesh-intent has no version '1'; see `nivesh-ml models list`"
    ]
    unknown = run(["models", "rollback", "fraud"], home)
    assert unknown.returncode == 2
    assert "unknown model 'fraud'" in unknown.stderr


def test_canary_decide_and_auto_retrain_on_an_empty_registry(tmp_path: Path) -> None:
    home = tmp_path / "var"
    decided = run(["canary", "decide", "--json"], home)
    assert decided.returncode == 0, decided.stderr
    verdicts = [json.loads(line) for line in decided.stdout.splitlines()]
    assert [(v["model"], v["status"]) for v in verdicts] == [
        (model, "none") for model in ("intent", "ner", "spending", "anomaly", "credit-risk", "assistant")
    ]
    unknown = run(["canary", "decide", "fraud"], home)
    assert unknown.returncode == 2
    assert "unknown model 'fraud'" in unknown.stderr
    auto = run(["pipeline", "run", "credit-risk", "--auto"], home)
    assert auto.returncode == 0, auto.stderr
    assert "credit-risk: no trigger fired" in auto.stdout


def test_pipeline_daily_ingests_a_day_and_checks_every_model(tmp_path: Path) -> None:
    home = tmp_path / "var"
    env = {"NIVESH_USERS": "30", "NIVESH_MONTHS": "2"}
    assert run(["data", "generate"], home, **env).returncode == 0
    day = run(["pipeline", "daily", "--days", "1", "--scenario", "fraud-wave"], home, **env)
    assert day.returncode == 0, day.stderr
    report = json.loads(day.stdout)
    manifest = json.loads((home / "data" / "synthetic" / "manifest.json").read_text())
    assert report["day"] == manifest["advanced"]["last_day"]
    assert report["data_version"] == manifest["version"]
    assert (report["scenario"], report["new_rows"]) == ("fraud-wave", manifest["advanced"]["rows"])
    assert report["snapshots_built"] > 0
    assert [item["status"] for item in report["drift"]] == ["skipped"] * 6  # no champion yet
    assert report["retrains"] == []
    assert set(report["step_seconds"]) == {"ingest", "features", "drift", "retrain", "canary"}
    unknown = run(["pipeline", "daily", "--scenario", "meteor"], home, **env)
    assert unknown.returncode == 2
    assert "meteor" in unknown.stderr


def test_up_rejects_an_unknown_model_with_one_line(tmp_path: Path) -> None:
    result = run(["up", "--no-serve", "--models", "intent,weather"], tmp_path / "var")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "nivesh-ml: error: --models: unknown weather; "
        "choose from intent, ner, spending, anomaly, credit-risk, assistant"
    )


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    home = tmp_path / "var"
    created = run(["keys", "create", "backend-prod", "--scopes", "predict,admin"], home)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("nvk_")
    assert len(key) == 56
    assert "not shown again" in created.stderr
    listed = run(["keys", "list"], home)
    assert "backend-prod" in listed.stdout
    assert key[4:12] in listed.stdout
    assert key[13:] not in listed.stdout  # the secret part is never shown again
    assert key not in (home / "nivesh.db").read_bytes().decode("latin-1")  # only a salted hash is stored
    revoked = run(["keys", "revoke", key[4:12]], home)
    assert revoked.returncode == 0
    assert "revoked 1 key(s)" in revoked.stdout
    again = run(["keys", "revoke", "backend-prod"], home)
    assert again.returncode == 2
    assert "no active API key is named 'backend-prod'" in again.stderr


def test_keys_create_refuses_an_unknown_scope(tmp_path: Path) -> None:
    result = run(["keys", "create", "ops", "--scopes", "predict,root"], tmp_path / "var")
    assert result.returncode == 2
    assert "scopes must be some of predict, admin" in result.stderr


def _intent_feedback(home: Path) -> None:
    """Two intent predictions of version 1 with feedback (one right, one wrong), one unusable."""
    from nivesh_ml.db import repository, session_scope
    from nivesh_ml.db.app import app_engine

    settings = load_settings(_env_file=None, home=home)
    with session_scope(app_engine(settings)) as session:
        model = repository.register_model_version(
            session, model_name="nivesh-intent", model_type="intent", version="1",
            framework="pyfunc", artifact_path="models:/nivesh-intent/1", created_by="test",
        )  # fmt: skip
        for query, actual in [("my balance?", "check_balance"), ("food spend", "spending_query"), ("?", 3)]:
            prediction_id = repository.log_prediction(
                session, model_id=model.id, input_data={"query": query},
                prediction={"intent": "check_balance"}, latency_ms=1.0,
            )  # fmt: skip
            session.flush()
            repository.record_feedback(session, prediction_id, actual)


def test_monitor_quality_and_export_labels(tmp_path: Path) -> None:
    home = tmp_path / "var"
    _intent_feedback(home)
    result = run(["monitor", "quality", "intent", "--window", "7d", "--json"], home)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"] == "intent"
    assert report["versions"] == [
        {"version": "1", "feedback": 3, "unusable": 1, "metrics": {"accuracy": 0.5}}
    ]
    exported = run(["monitor", "export-labels", "intent"], home)
    assert exported.returncode == 0, exported.stderr
    (folder,) = (home / "labels" / "intent").iterdir()
    assert (folder / "labels.jsonl").read_text().count("\n") == 2
    assert folder.name[:12] in exported.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["monitor", "quality", "weather"], "unknown model 'weather'"),
        (["monitor", "quality", "intent", "--window", "a week"], "window 'a week' is not like 7d, 30d"),
        (["monitor", "export-labels", "intent"], "nivesh-intent: no usable feedback"),
    ],
)
def test_monitor_bad_input_exits_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = run(args, tmp_path / "var")
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("nivesh-ml: error:")]
    assert message in line
    assert result.stderr.strip().endswith(line)  # logs (a first migration) may come before it


def _drift_champions(home: Path) -> None:
    """credit-risk: a champion with a reference and shifted traffic; intent: a champion without one
    (trained before its trainer logged one)."""
    from mlflow.models import infer_signature

    from nivesh_ml.tracking.runs import start_training_run
    from nivesh_ml.tracking.store import client

    from .monitoring.test_drift import Echo, _champion_with_reference, _frame, _log_traffic

    settings = load_settings(_env_file=None, home=home)
    _log_traffic(settings, _champion_with_reference(settings), _frame(200, 0.3, 2))
    example = pd.DataFrame({"text": ["my balance?"]})
    with start_training_run(settings, "intent") as training:
        intent = training.log_model(Echo(), signature=infer_signature(example), input_example=example)
    client(settings).set_registered_model_alias("nivesh-intent", "champion", intent.version)


def test_drift_check_all_checks_what_it_can_and_says_why_not_for_the_rest(tmp_path: Path) -> None:
    home = tmp_path / "var"
    _drift_champions(home)
    result = run(["drift", "check", "all", "--json"], home)
    assert result.returncode == 0, result.stderr
    outcomes = {item["model"]: item for item in map(json.loads, result.stdout.splitlines())}
    assert list(outcomes) == ["intent", "ner", "spending", "anomaly", "credit-risk", "assistant"]
    assert outcomes["credit-risk"]["status"] == "checked"
    assert outcomes["credit-risk"]["result"]["columns"]["utilisation"]["drifted"] is True
    assert outcomes["intent"] == {
        "model": "intent",
        "status": "skipped",
        "reason": "intent: champion v1 logged no drift reference (retrain it to log one)",
        "result": None,
    }
    for model in ("ner", "spending", "anomaly", "assistant"):
        assert outcomes[model]["status"] == "skipped"
        assert outcomes[model]["reason"].startswith(f"{model}: no champion to check")
    plain = run(["drift", "check", "all", "--window", "30m"], home)
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert len(lines) == 6
    assert "intent: champion v1 logged no drift reference (retrain it to log one)" in lines
    assert [line for line in lines if line.startswith("credit-risk: ")] == ["credit-risk: DRIFT, 50% drifted"]
