"""One day of the living platform, as plain functions: the only place these steps are written.

ingest new day partitions -> validate them -> build features incrementally -> materialise the
changed users -> check drift -> retrain what a trigger asks for (gate -> canary) -> decide
running canaries.

``nivesh-ml up`` and the retraining pipeline call :func:`prepare_data` and :func:`refresh_features`;
``nivesh-ml pipeline daily``, the ``nivesh_daily`` Airflow DAG and ``nivesh-ml simulate`` call
:func:`run_day` (or its steps one by one). Each step is safe to run again: a day already
ingested is not ingested twice, a snapshot already built is skipped, an unchanged row is not
written, a check records one more verdict.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import advance_synthetic, ensure_synthetic, synthetic_dir
from nivesh_ml.data.schemas import SCHEMAS, validate
from nivesh_ml.data.synthetic import GeneratorConfig, read_manifest
from nivesh_ml.data.synthetic.partitions import advanced_days
from nivesh_ml.features.materialize import build_features, materialize
from nivesh_ml.features.online import make_online_store
from nivesh_ml.log import get_logger
from nivesh_ml.monitoring.confirmed import join_confirmed_fraud, join_observed_defaults, record_ingest

__all__ = [
    "DAILY_STEPS",
    "DayReport",
    "StepClock",
    "check_drift_all",
    "decide_canaries",
    "ingest",
    "prepare_data",
    "refresh_features",
    "retrain_triggered",
    "run_day",
]

log = get_logger(__name__)

# The day's steps in order, as the ``nivesh_daily`` DAG runs them (one task each).
DAILY_STEPS: tuple[str, ...] = ("ingest", "features", "drift", "retrain", "canary")


@dataclass
class DayReport:
    """What one day's loop did (JSON-ready with :meth:`as_dict`)."""

    day: str | None = None
    scenario: str | None = None
    data_version: str = ""
    new_rows: int = 0
    snapshots_built: int = 0
    materialized: dict[str, int] = field(default_factory=dict)
    drift: list[dict[str, Any]] = field(default_factory=list)
    retrains: list[dict[str, Any]] = field(default_factory=list)
    canaries: list[dict[str, Any]] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)  # wall seconds per step

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def prepare_data(settings: Settings) -> str:
    """Make sure the synthetic data set exists (generate it once); returns its version."""
    config = GeneratorConfig(users=settings.users, months=settings.months, seed=settings.seed)
    return str(ensure_synthetic(settings, config)["version"])


def ingest(
    settings: Settings, days: int = 1, *, scenario: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Append ``days`` day partitions (under ``scenario``) and validate them, then record the outcomes
    they carry (:mod:`nivesh_ml.monitoring.confirmed`): their fraud labels for the anomaly
    predictions that scored those debits, their 90-DPD events for the credit-risk scores whose
    horizon they close; returns the data set's new version and the manifest records of the days
    appended."""
    before = {record["day"] for record in _advanced(settings)}
    manifest = advance_synthetic(settings, days, scenario=scenario)
    new = [record for record in advanced_days(manifest) if record["day"] not in before]
    for record in new:  # a day that fails its schema stops the loop here, before any feature sees it
        frame = pd.read_parquet(synthetic_dir(settings) / record["file"])
        validate(frame.drop(columns=["date"], errors="ignore"), SCHEMAS["transactions"])
    if new:
        record_ingest(settings, [record["day"] for record in new])
        join_confirmed_fraud(settings)
        join_observed_defaults(settings)
    return str(manifest["version"]), new


def _advanced(settings: Settings) -> list[dict[str, Any]]:
    manifest = read_manifest(synthetic_dir(settings))
    return advanced_days(manifest) if manifest else []


def refresh_features(settings: Settings) -> tuple[int, dict[str, int]]:
    """Build the feature snapshots (incrementally when only days were appended) and materialise what
    changed; returns the snapshots built and the rows written online per view."""
    built = build_features(settings)
    online = make_online_store(settings)
    try:
        reports = materialize(settings, online)
    finally:
        online.close()
    return built, {report.view: report.written for report in reports}


def check_drift_all(
    settings: Settings, window: timedelta, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Drift for every model with a champion, a reference and enough traffic in ``window``."""
    from nivesh_ml.monitoring.drift import check_all

    outcomes = check_all(settings, window, now=now)
    return [
        {
            "model": outcome.model,
            "status": outcome.status,
            "reason": outcome.reason,
            "drift_share": None if outcome.result is None else outcome.result.drift_share,
            "drifted": bool(outcome.result and outcome.result.dataset_drift),
            "version": None if outcome.result is None else outcome.result.version,
        }
        for outcome in outcomes
    ]


def retrain_triggered(
    settings: Settings,
    models: Sequence[str],
    *,
    quick: bool = False,
    max_age: timedelta | None = None,
    quality_window: timedelta = timedelta(days=7),
) -> list[dict[str, Any]]:
    """Run the retraining pipeline of each of ``models`` a trigger fires for; one record per retrain."""
    from nivesh_ml.pipelines.retrain import run_pipeline
    from nivesh_ml.pipelines.triggers import retrain_triggers

    done = []
    for model in models:
        fired = retrain_triggers(settings, model, max_age=max_age, quality_window=quality_window)
        if not fired:
            continue
        log.info(f"retraining {model}: {fired[0]['reason']}")
        result = run_pipeline(settings, model, quick=quick, fresh=True, trigger=fired[0])
        context = result.context
        done.append(
            {
                "model": model,
                "trigger": fired[0],
                "version": context.get("version"),
                "outcome": context.get("outcome"),
                "reason": context.get("reason"),
                "data_version": context.get("data_version"),
                "labels_version": context.get("labels_version"),
            }
        )
    return done


def decide_canaries(
    settings: Settings, models: Sequence[str], *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Decide every running canary of ``models`` that has enough outcomes."""
    from nivesh_ml.monitoring.canary import decide_canary

    return [decide_canary(settings, model, now=now).as_dict() for model in models]


def run_day(
    settings: Settings,
    models: Sequence[str],
    *,
    days: int = 1,
    scenario: str | None = None,
    drift_window: timedelta = timedelta(days=1),
    quick: bool = False,
) -> DayReport:
    """One day: ingest ``days`` partitions (none with 0), validate, features, drift, retrain if
    triggered, decide canaries."""
    clock = StepClock()
    with clock("ingest"):
        version, new = ingest(settings, days, scenario=scenario) if days > 0 else (prepare_data(settings), [])
    report = DayReport(
        day=new[-1]["day"] if new else None,
        scenario=scenario,
        data_version=version,
        new_rows=sum(int(record.get("rows", 0)) for record in new),
        step_seconds=clock.seconds,
    )
    with clock("features"):
        report.snapshots_built, report.materialized = refresh_features(settings)
    with clock("drift"):
        report.drift = check_drift_all(settings, drift_window, now=datetime.now(UTC))
    with clock("retrain"):
        report.retrains = retrain_triggered(settings, models, quick=quick)
    with clock("canary"):
        report.canaries = decide_canaries(settings, models)
    return report


class StepClock:
    """Wall seconds per step of a day: ``with clock("ingest"): ...``, then ``clock.seconds``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - started, 2)
