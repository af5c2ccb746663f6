"""What the Airflow tasks run, in the project's venv: one retraining step, one drift check, the
feature refresh.

Each function reads the settings from the ``NIVESH_*`` environment the Airflow worker passes
on, and returns JSON-safe data (it travels back to Airflow as XCom).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from nivesh_ml.config import Settings, load_settings
from nivesh_ml.errors import ConfigError, DataError, ModelNotFoundError
from nivesh_ml.log import get_logger, setup_logging
from nivesh_ml.pii import install_log_redactor

__all__ = ["check_model_drift", "daily_step", "refresh_features", "run_step"]

log = get_logger(__name__)


def _settings() -> Settings:
    settings = load_settings()
    settings.export_offline_env()
    setup_logging(settings.log_level, settings.log_format)
    install_log_redactor()
    return settings


def _json_safe(value: Mapping[str, Any]) -> dict[str, Any]:
    # numpy scalars and paths in step results become plain JSON values
    safe: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return safe


def run_step(step: str, model: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """Run the retraining step ``step`` for ``model``; return the context with what it added."""
    from nivesh_ml.pipelines.retrain import STEPS

    steps = {s.name: s for s in STEPS}
    if step not in steps:
        raise ConfigError(f"unknown pipeline step {step!r}; choose one of {', '.join(steps)}")
    settings = _settings()
    log.info(f"pipeline {model}: {step}")
    return _json_safe({**context, **steps[step].run(settings, model, context)})


def check_model_drift(model: str, window: str) -> dict[str, Any]:
    """One model's drift verdict: ``{"model", "drifted", "drift_share", "version", "reason"}``.

    A model with no champion, no drift reference or too little logged traffic is not drifted
    (``reason`` says why): there is nothing to retrain it against yet.
    """
    from nivesh_ml.tracking.loading import resolve_alias

    settings = _settings()
    verdict: dict[str, Any] = {"model": model, "drifted": False, "drift_share": None, "version": None}
    try:
        verdict["version"] = resolve_alias(settings, model)
    except ModelNotFoundError as exc:
        return {**verdict, "reason": str(exc)}
    # Evidently is slow to import: only where there is a champion to check
    from nivesh_ml.monitoring.drift import check_drift, parse_window

    span = parse_window(window)
    try:
        result = check_drift(settings, model, span)
    except DataError as exc:
        return {**verdict, "reason": str(exc)}
    share = f"{result.drift_share:.0%} of features drifted"
    return _json_safe(
        {
            **verdict,
            "drifted": result.dataset_drift,
            "drift_share": result.drift_share,
            "reason": f"{share} (threshold {settings.drift_threshold(model):.0%}); "
            f"{result.report_html or 'no report drawn (no drift)'}",
        }
    )


def refresh_features() -> list[dict[str, Any]]:
    """Refresh every online feature view as of now (``nivesh-ml features refresh``); a report per view."""
    from nivesh_ml.features.online import make_online_store
    from nivesh_ml.features.refresh import refresh

    settings = _settings()
    online = make_online_store(settings)
    try:
        reports = refresh(settings, online, as_of=datetime.now(UTC))
    finally:
        online.close()
    return [_json_safe(asdict(report)) for report in reports]


def daily_step(step: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """One step of the living platform's day (:mod:`nivesh_ml.pipelines.daily`), for every model.

    ``options``: ``days`` (day partitions to ingest: the synthetic data set is advanced by that
    many; 0 ingests nothing), ``scenario``, ``window`` (of traffic for drift) and ``quick``.
    """
    from nivesh_ml.monitoring.window import parse_window
    from nivesh_ml.pipelines import daily
    from nivesh_ml.tracking.store import MODEL_KEYS

    settings = _settings()
    if step == "ingest":
        days = int(options.get("days") or 0)
        if days < 1:
            return {"ingested": []}
        version, new = daily.ingest(settings, days, scenario=options.get("scenario") or None)
        return _json_safe({"data_version": version, "ingested": [record["day"] for record in new]})
    if step == "features":
        built, written = daily.refresh_features(settings)
        return _json_safe({"snapshots_built": built, "materialized": written})
    if step == "drift":
        window = parse_window(str(options.get("window") or "1d"))
        return _json_safe({"drift": daily.check_drift_all(settings, window)})
    if step == "retrain":
        return _json_safe(
            {"retrains": daily.retrain_triggered(settings, MODEL_KEYS, quick=bool(options.get("quick")))}
        )
    if step == "canary":
        return _json_safe({"canaries": daily.decide_canaries(settings, MODEL_KEYS)})
    raise ConfigError(f"unknown daily step {step!r}; choose one of {', '.join(daily.DAILY_STEPS)}")
