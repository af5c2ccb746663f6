"""``nivesh-ml simulate``: the living platform's loop over simulated days, against a running server.

Setup (once per simulation home): generate a small population, build and materialise its
features, train the looped models quickly (they become champions) and create an API key. Then,
per simulated day:

1. **Time moves**: one day partition is ingested (under the scenario from its start day on) and
   validated; features are built incrementally and the changed users materialised
   (:mod:`nivesh_ml.pipelines.daily`, the same functions the DAGs and the CLI call).
2. **Traffic**: users are scored by ``user_id`` on credit risk, the day's own transactions on
   anomaly, through the real server (``python -m nivesh_ml.serving`` on a free loopback port).
3. **Outcomes arrive late, with the data**: confirmed fraud (the transaction's own label) when
   the next day is ingested; a default (a 90-DPD event of the user,
   :mod:`nivesh_ml.data.synthetic.outcomes`) when the data reaches ``credit_lag_days`` after the
   score (the simulation's default horizon). The ingest joins both to the logged predictions
   (:mod:`nivesh_ml.monitoring.confirmed`); the simulation sends no outcome itself.
4. **The platform reacts**: drift is checked on the day's traffic, a fired trigger retrains
   (the new version becomes a canary challenger; the server reloads), and a canary with enough
   outcomes is promoted or rolled back by its rule.

Every day's record is appended to ``days.jsonl`` under the simulation folder, so an interrupted
run continues after its last finished day. :mod:`.report` turns the records into the HTML report
and JSON summary.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from nivesh_ml.config import QualityBar, Settings
from nivesh_ml.data.nivesh import synthetic_dir
from nivesh_ml.data.scenarios import SCENARIO_DESCRIPTIONS
from nivesh_ml.data.synthetic import read_manifest
from nivesh_ml.data.synthetic.partitions import advanced_days, read_since, unify_categories
from nivesh_ml.db import ModelPrediction, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.db.migrate import upgrade
from nivesh_ml.errors import ConfigError, NiveshError
from nivesh_ml.log import get_logger
from nivesh_ml.models.common import TrainOptions, trainer
from nivesh_ml.monitoring.quality import feedback_rows, score_versions
from nivesh_ml.pipelines import daily
from nivesh_ml.progress import item_progress
from nivesh_ml.serving.process import server_process
from nivesh_ml.tracking.registry import current_aliases

__all__ = [
    "LOOPED_MODELS",
    "SimulationConfig",
    "debit_requests",
    "prepare_simulation",
    "run_simulation",
    "simulation_settings",
]

log = get_logger(__name__)

LOOPED_MODELS: tuple[str, ...] = ("credit-risk", "anomaly")  # the models the generated data drives
# A small population measures credit risk's AUC on a few dozen defaulters (about 0.05 either way by
# chance): its bar is relaxed so the first champion registers; the loop, not the model, is on trial.
SIMULATION_BARS: dict[str, QualityBar] = {"credit-risk": QualityBar(metric="auc", threshold=0.65)}
KEY_FILE = "api_key"
DAYS_FILE = "days.jsonl"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate; the defaults are the fast settings (a few minutes on 2 cores for 60 days)."""

    days: int = 60
    scenario: str | None = None
    scenario_start: int = 10  # the simulated day the scenario begins (1 = the first)
    users: int = 1_000
    # At least 8: the anomaly split holds 2 warm-up, 2 calibration, 2 test months. 15 puts a full
    # year of history behind the test months, so the users' 365-day statistics in the anomaly
    # reference are as full as in the traffic (with 12, they grew through the simulated days, and
    # the drift check saw the growth as drift).
    months: int = 15
    seed: int = 42
    models: tuple[str, ...] = LOOPED_MODELS
    # The traffic a day: enough for the outcomes trigger to see a fraud wave within 3 days (150
    # debits a day did not, docs/BENCHMARKS.md "Living platform"); a real day scores every debit.
    credit_requests: int = 300  # users scored per day
    anomaly_requests: int = 400  # the day's debits scored per day
    # The default horizon in simulated days (a 12-month horizon compressed): a score's default is
    # known when the data reaches this many days after it. Fraud is confirmed the next day.
    credit_lag_days: int = 3
    canary_percentage: int = 30
    canary_min_feedback: int = 100
    quick: bool = True

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ConfigError(f"--days must be at least 1, got {self.days}")
        if not 1 <= self.credit_lag_days <= 30:
            raise ConfigError(
                f"the default horizon must be 1 to 30 simulated days, got {self.credit_lag_days}"
            )
        if self.scenario is not None and self.scenario not in SCENARIO_DESCRIPTIONS:
            raise ConfigError(
                f"unknown scenario {self.scenario!r}; choose one of {', '.join(SCENARIO_DESCRIPTIONS)}"
            )
        unknown = sorted(set(self.models) - set(LOOPED_MODELS))
        if unknown:
            raise ConfigError(
                f"simulate loops {', '.join(LOOPED_MODELS)} (the models the generated data drives); "
                f"not {', '.join(unknown)}"
            )

    def scenario_on(self, day: int) -> str | None:
        """The scenario in force on simulated day ``day`` (1-based)."""
        return self.scenario if self.scenario and day >= self.scenario_start else None


@dataclass
class _State:
    answered: int = 0
    began: list[datetime] = field(default_factory=list)  # when each recent day's traffic began


def simulation_settings(base: Settings, folder: Path, config: SimulationConfig) -> Settings:
    """Embedded stores under ``folder`` (SQLite app DB and online store, MLflow in files), whatever
    ``base`` points at: a simulation never touches the real platform's data."""
    return base.model_copy(
        update={
            "home": folder / "home",
            "database_url": "",
            "online_store": "sqlite",
            "mlflow_tracking_uri": "",
            "users": config.users,
            "months": config.months,
            "seed": config.seed,
            "outcome_horizon_days": config.credit_lag_days,
            "canary_traffic_percentage": config.canary_percentage,
            "canary_min_feedback": config.canary_min_feedback,
            "api_keys": [],
            "quality_bars": {**base.quality_bars, **SIMULATION_BARS},
        }
    )


def run_simulation(
    base: Settings,
    folder: Path,
    config: SimulationConfig,
    *,
    on_day: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run (or continue) the simulation in ``folder``; returns every day's record."""
    _check_config(folder, config)
    settings = simulation_settings(base, folder, config)
    key = prepare_simulation(base, folder, config)
    records = _read_days(folder)
    check_days(records)
    state = _State(
        answered=records[-1]["answered_total"] if records else 0,
        began=[
            datetime.fromisoformat(moment) for moment in (records[-1].get("began", []) if records else [])
        ],
    )
    env = {
        "NIVESH_API_KEYS": "[]",
        "NIVESH_RATE_LIMIT": "100000/minute",
        "NIVESH_RELOAD_INTERVAL_S": "0",  # the loop reloads when an alias moves
        "NIVESH_FEATURE_REFRESH_INTERVAL_S": "0",  # the loop refreshes the features every day
        "NIVESH_PREDLOG_FLUSH_INTERVAL_S": "0.2",
        "NIVESH_LOG_LEVEL": "WARNING",
        "NIVESH_CANARY_TRAFFIC_PERCENTAGE": str(config.canary_percentage),
    }
    first = len(records) + 1
    _exit_on_sigterm()  # a terminated simulation still stops its server (the with-blocks unwind)
    with (
        server_process(settings.home, folder / "server.log", key, env) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60) as http,
        item_progress(f"simulating {config.days} days", total=config.days) as advance,
    ):
        advance(first - 1)
        for day in range(first, config.days + 1):
            record = _one_day(settings, config, http, state, day)
            _append_day(folder, record)
            records.append(record)
            if on_day is not None:
                on_day(record)
            advance(1)
    return records


def _exit_on_sigterm() -> None:
    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def _check_config(folder: Path, config: SimulationConfig) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CONFIG_FILE
    wanted = asdict(config)
    if path.exists():
        found = json.loads(path.read_text())
        if {k: v for k, v in found.items() if k != "days"} != {
            k: (list(v) if isinstance(v, tuple) else v) for k, v in wanted.items() if k != "days"
        }:
            raise ConfigError(
                f"{folder} holds a simulation with other settings; pass another --out or remove it"
            )
    path.write_text(json.dumps(wanted, indent=2))


def prepare_simulation(base: Settings, folder: Path, config: SimulationConfig) -> str:
    """The simulation's world before day 1, each part made once: data, features, a champion per looped
    model and an API key (returned). A prepared folder may be copied and run under another scenario."""
    from nivesh_ml.serving.keys import create_key

    folder.mkdir(parents=True, exist_ok=True)
    settings = simulation_settings(base, folder, config)
    daily.prepare_data(settings)
    upgrade(settings.db_url)
    daily.refresh_features(settings)
    for model in config.models:
        if "champion" not in current_aliases(settings, model):
            report = trainer(model)(settings, TrainOptions(quick=config.quick, home_data=True))
            log.info(f"simulate: {model} v{report.version} {report.outcome}: {report.reason}")
            if "champion" not in current_aliases(settings, model):
                raise NiveshError(f"simulate: {model} trained no champion ({report.reason})")
    path = folder / KEY_FILE
    if not path.exists():
        path.write_text(create_key(settings, "simulate", ["predict", "admin"]) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def _read_days(folder: Path) -> list[dict[str, Any]]:
    path = folder / DAYS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _append_day(folder: Path, record: Mapping[str, Any]) -> None:
    with (folder / DAYS_FILE).open("a") as handle:
        handle.write(json.dumps(record, default=str) + "\n")


def _one_day(
    settings: Settings, config: SimulationConfig, http: httpx.Client, state: _State, day: int
) -> dict[str, Any]:
    started = time.monotonic()
    steps = daily.StepClock()
    scenario = config.scenario_on(day)
    with steps("ingest"):
        version, new = daily.ingest(settings, 1, scenario=scenario)
    with steps("features"):
        built, written = daily.refresh_features(settings)
    traffic_began = datetime.now(UTC)
    rng = np.random.default_rng([config.seed, day])
    served: dict[str, dict[str, int]] = {}
    with steps("traffic"):
        if "credit-risk" in config.models:
            _credit_traffic(config, http, state, rng, served)
        if "anomaly" in config.models:
            _anomaly_traffic(settings, config, http, state, rng, served)
        _wait_logged(settings, state.answered)
    quality = _resolved_quality(settings, config, state.began, traffic_began)
    checked = datetime.now(UTC)  # the window ends here, whatever the check's imports take
    with steps("drift"):
        drift = daily.check_drift_all(settings, checked - traffic_began, now=checked)
    drift = [item for item in drift if item["model"] in config.models]
    alarms = _alarms(settings, config.models)
    # live quality over the predictions of the last 7 simulated days (a simulated day is seconds)
    began = [*state.began[-max(6, config.credit_lag_days) :], traffic_began]
    week = datetime.now(UTC) - began[-7:][0]
    with steps("retrain"):
        retrains = daily.retrain_triggered(settings, config.models, quick=config.quick, quality_window=week)
    state.began = began
    with steps("canary"):
        canaries = daily.decide_canaries(settings, config.models)
        if retrains or any(item["status"] in ("promoted", "rolled_back") for item in canaries):
            http.post("/admin/reload").raise_for_status()
    ready = http.get("/ready").json()
    return {
        "day": day,
        "date": new[-1]["day"] if new else None,
        "scenario": scenario,
        "data_version": version,
        "snapshots_built": built,
        "materialized": written,
        "traffic": served,
        "quality": quality,
        "drift": drift,
        "alarms": alarms,
        "retrains": retrains,
        "canaries": [item for item in canaries if item["status"] != "none"],
        "aliases": {model: current_aliases(settings, model) for model in config.models},
        "expired_views": _expired(ready),
        "answered_total": state.answered,
        "logged_total": _logged(settings),
        "seconds": round(time.monotonic() - started, 2),
        "step_seconds": steps.seconds,
        "began": [moment.isoformat() for moment in state.began],
    }


def _alarms(settings: Settings, models: Sequence[str]) -> dict[str, str]:
    """The models whose drift alarm is raised after today's check (persistent drift, see triggers)."""
    from nivesh_ml.pipelines.triggers import drift_alarm

    raised = {}
    for model in models:
        champion = current_aliases(settings, model).get("champion")
        reason = drift_alarm(settings, model, champion) if champion else None
        if reason:
            raised[model] = reason
    return raised


def _credit_traffic(
    config: SimulationConfig,
    http: httpx.Client,
    state: _State,
    rng: np.random.Generator,
    served: dict[str, dict[str, int]],
) -> None:
    users = [f"U{index:07d}" for index in rng.choice(np.arange(1, config.users + 1), config.credit_requests)]
    for user in users:
        _score(http, state, served, "credit-risk", {"user_id": user})


def _anomaly_traffic(
    settings: Settings,
    config: SimulationConfig,
    http: httpx.Client,
    state: _State,
    rng: np.random.Generator,
    served: dict[str, dict[str, int]],
) -> None:
    """The day's debits, scored as the app scores them (:func:`debit_requests`)."""
    for body in debit_requests(settings, config.anomaly_requests, rng):
        _score(http, state, served, "anomaly", body)


def debit_requests(settings: Settings, count: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """``POST /predict/anomaly`` bodies for ``count`` debits of the data set's last day (drawn with
    ``rng``, in time order), each with the user's debits of the 24 hours before it as context."""
    frame = _recent_debits(settings)
    today = frame[frame["timestamp"] >= frame["timestamp"].max().normalize()]  # the last day's
    picked = today.iloc[np.sort(rng.choice(len(today), min(count, len(today)), replace=False))]
    by_user = {user: rows for user, rows in frame.groupby("user_id", observed=True)}  # noqa: C416  # a groupby has .keys
    bodies = []
    for row in picked.itertuples(index=False):
        earlier = by_user[row.user_id]
        since = row.timestamp - pd.Timedelta(hours=24)
        context = earlier[(earlier["timestamp"] >= since) & (earlier["timestamp"] < row.timestamp)]
        bodies.append(
            {
                "transaction": _transaction(row),
                "context": [_recent(item) for item in context.itertuples(index=False)],
            }
        )
    return bodies


def _score(
    http: httpx.Client, state: _State, served: dict[str, dict[str, int]], model: str, body: dict[str, Any]
) -> None:
    """One prediction through the server, counted by the version that answered."""
    response = http.post(f"/predict/{model}", json=body)
    if response.status_code != 200:
        raise NiveshError(f"simulate: {model} answered {response.status_code}: {response.text[:500]}")
    version = str(response.json()["model_version"])
    by_version = served.setdefault(model, {})
    by_version[version] = by_version.get(version, 0) + 1
    state.answered += 1


def _recent_debits(settings: Settings) -> pd.DataFrame:
    """The debits of the data set's last day (the last ingested, else the history's last) and of
    the day before it (the 24-hour context of the day's first debits)."""
    folder = synthetic_dir(settings)
    manifest = read_manifest(folder) or {}
    days = advanced_days(manifest)
    today = pd.Timestamp(days[-1]["day"] if days else manifest["config"]["end_date"])
    history, days = read_since(folder, manifest, today - pd.Timedelta(days=1))
    frame = pd.concat(unify_categories([history, *days]), ignore_index=True)
    frame = frame[frame["direction"].astype(str) == "debit"]
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def _transaction(row: Any) -> dict[str, Any]:
    return {
        "user_id": str(row.user_id),
        "amount": round(float(row.amount), 2),
        "merchant": str(row.merchant),
        "category": str(row.category),
        "channel": str(row.channel),
        "timestamp": pd.Timestamp(row.timestamp).isoformat(),
        "direction": "debit",
    }


def _recent(row: Any) -> dict[str, Any]:
    return {
        "amount": round(float(row.amount), 2),
        "merchant": str(row.merchant),
        "timestamp": pd.Timestamp(row.timestamp).isoformat(),
        "category": str(row.category),
        "channel": str(row.channel),
    }


def _resolved_quality(
    settings: Settings, config: SimulationConfig, began: Sequence[datetime], today: datetime
) -> dict[str, dict[str, dict[str, float]]]:
    """Each model's quality per version over the predictions whose outcomes today's ingest brought:
    the debits scored the day before, the credit scores made ``credit_lag_days`` days before."""
    lags = {"anomaly": 1, "credit-risk": config.credit_lag_days}
    quality: dict[str, dict[str, dict[str, float]]] = {}
    for model in config.models:
        lag = lags[model]
        if len(began) < lag:
            continue
        until = began[-lag + 1] if lag > 1 else today
        versions = score_versions(model, feedback_rows(settings, [model], began[-lag], until))
        if versions:
            quality[model] = {v.version: {"n": v.feedback, **v.metrics} for v in versions}
    return quality


def _wait_logged(settings: Settings, answered: int, timeout_s: float = 60.0) -> None:
    """Until every answered prediction is in the app DB's log (the server writes it in batches)."""
    deadline = time.monotonic() + timeout_s
    while _logged(settings) < answered:
        if time.monotonic() > deadline:
            missing = answered - _logged(settings)
            raise NiveshError(f"simulate: {missing} answered predictions not logged after {timeout_s:.0f} s")
        time.sleep(0.2)


def _logged(settings: Settings) -> int:
    from sqlalchemy import func, select

    with session_scope(app_engine(settings)) as session:
        return int(session.scalar(select(func.count()).select_from(ModelPrediction)) or 0)


def _expired(ready: Mapping[str, Any]) -> list[str]:
    expired: list[str] = []
    for component in (ready.get("components") or {}).values():
        if isinstance(component, Mapping):
            expired += list(component.get("expired_views") or [])
    return expired


def check_days(records: Sequence[Mapping[str, Any]]) -> None:
    """Raise if the records are not a contiguous run of days from 1 (a corrupt days.jsonl)."""
    if [record["day"] for record in records] != list(range(1, len(records) + 1)):
        raise NiveshError(
            "days.jsonl is not a run of days from 1; remove the simulation folder and run again"
        )
