"""Drift detection with Evidently: the champion's training reference against recent traffic.

Both sides are rows of the model's drift space (:mod:`.drift_space`: a few columns per model, made
from what the server logs for a prediction by one function per model):

- **Reference**: the rows the champion's training run logged (``reference/features.parquet``,
  see ``TrainingRun.log_reference``), made of held-out requests and the model's own answers;
- **Current**: the rows of the predictions the server logged in the window
  (``model_prediction.input_data`` and ``prediction``, through ``DRIFT_ROWS[model]``).

A check is a drift when the share of drifted columns reaches the model's threshold
(``NIVESH_DRIFT_SHARE_THRESHOLD``, per model ``NIVESH_DRIFT_SHARE_THRESHOLDS``), or when a column
holding the model's decision drifted (:data:`~.drift_space.ANSWER_COLUMNS`: the share of debits
flagged, the intents answered, the tools called): what users get changed, whatever the share of
inputs says. A new merchant category moved one input column of eleven in a simulated month and
the detector's flag rate with it (docs/BENCHMARKS.md, "Living platform").

Evidently picks the method per column by type and size (K-S / chi-square on small data,
Wasserstein / Jensen-Shannon distances on large). The check runs Evidently's data-drift table
through its ``evidently.legacy`` report, which computes first and draws only when asked: the
``evidently.Report`` of 0.7 draws every column's plots while it computes, which was four fifths of a
check's time (7.4 s against 1.2 s for 31 columns, docs/BENCHMARKS.md "Drift check"). The HTML report
is drawn when the check drifted or when it is asked for (``nivesh-ml drift check``); a quiet daily
check records its numbers only. Both sides are sampled to at most
``max_rows`` (seeded). The current side is sampled in the database: only the ids of the
window's predictions are read, and the rows of the sampled ids alone are fetched and decoded, so
a check over a million logged predictions costs about what one over 20,000 does
(docs/BENCHMARKS.md, drift check). Results: a row in the app DB's ``drift_check`` table (which
every model server's :class:`DriftCollector` exports as Prometheus gauges), an MLflow run in
``nivesh/<model>`` (``drift-check``, the JSON summary and the HTML report, where drawn, as artefacts)
and the same files under ``<home>/reports/drift/<model>/`` of whoever ran the check.

:func:`check_all` checks every model whose champion logged a reference and says why it skipped the
others. Every trainer logs one; a champion trained before they did is skipped until retrained.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from evidently.legacy.metric_preset import DataDriftPreset
from evidently.legacy.report import Report
from sqlalchemy import Select, select

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelPrediction, ModelRegistry, repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.errors import DataError, ModelNotFoundError
from nivesh_ml.log import get_logger
from nivesh_ml.monitoring.drift_metrics import DriftCollector
from nivesh_ml.monitoring.drift_space import ANSWER_COLUMNS, SEASON, drift_frame
from nivesh_ml.monitoring.window import parse_window
from nivesh_ml.tracking.loading import resolve_alias
from nivesh_ml.tracking.runs import REFERENCE_DIR
from nivesh_ml.tracking.store import MODEL_KEYS, client, ensure_experiment, registered_name

__all__ = [
    "DriftCollector",
    "DriftOutcome",
    "DriftResult",
    "check_all",
    "check_drift",
    "compare",
    "current_features",
    "parse_window",
]

log = get_logger(__name__)

MAX_ROWS = 20_000
MIN_CURRENT_ROWS = 30
MIN_SEASON_ROWS = 100  # reference rows of the traffic's season needed to compare with them alone
_FETCH = 500  # ids per IN (...) query: far below SQLite's and PostgreSQL's bind limits


@dataclass(frozen=True)
class DriftResult:
    """One drift check: which columns drifted, the share that did, and where the report is."""

    model: str
    version: str
    checked_at: str
    window: str
    reference_rows: int
    current_rows: int  # predictions logged in the window (the check reads a sample of max_rows)
    drift_share: float
    dataset_drift: bool
    columns: dict[str, dict[str, Any]]
    report_html: str  # empty when the report was not drawn (a check without drift)
    mlflow_run_id: str
    answers_drifted: tuple[str, ...] = ()  # the model's decision columns that drifted


@dataclass(frozen=True)
class DriftOutcome:
    """One model's part of :func:`check_all`: ``checked`` (with its result), ``skipped`` or ``failed``."""

    model: str
    status: str
    reason: str
    result: DriftResult | None = None


def reference_features(settings: Settings, model: str, alias: str = "champion") -> tuple[str, pd.DataFrame]:
    """The version ``alias`` points at and the reference sample its training run logged."""
    version = resolve_alias(settings, model, alias)
    run_id = client(settings).get_model_version(registered_name(model), version).run_id
    try:
        folder = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=REFERENCE_DIR)
    except Exception as exc:  # MLflow raises several types for a missing artefact
        raise DataError(f"{registered_name(model)} v{version} logged no drift reference: {exc}") from None
    return version, pd.read_parquet(Path(folder) / "features.parquet")


def current_features(
    settings: Settings,
    model: str,
    since: datetime,
    version: str | None = None,
    *,
    max_rows: int | None = None,
) -> tuple[pd.DataFrame, int]:
    """The drift rows of the predictions ``model`` made since ``since`` (one per prediction its row
    function can read) and how many predictions there were; with ``max_rows``, of a seeded sample
    of at most that many."""

    def in_window(query: Select[Any]) -> Select[Any]:
        query = query.join(ModelRegistry, ModelPrediction.model_id == ModelRegistry.id).where(
            ModelRegistry.model_name == registered_name(model), ModelPrediction.created_at >= since
        )
        return query if version is None else query.where(ModelRegistry.version == version)

    logged = (ModelPrediction.input_data, ModelPrediction.prediction)
    with session_scope(app_engine(settings)) as session:
        # ids only: cheap to read, and the JSON of the rows not sampled is never decoded
        order = (ModelPrediction.created_at, ModelPrediction.id)
        ids = list(session.scalars(in_window(select(ModelPrediction.id)).order_by(*order)))
        if max_rows is None or len(ids) <= max_rows:
            data = [tuple(row) for row in session.execute(in_window(select(*logged)))]
        else:
            picked = np.sort(np.random.default_rng(0).choice(len(ids), size=max_rows, replace=False))
            data = []
            for start in range(0, max_rows, _FETCH):
                chunk = [ids[i] for i in picked[start : start + _FETCH]]
                query = select(*logged).where(ModelPrediction.id.in_(chunk))
                data += [tuple(row) for row in session.execute(query)]
    return drift_frame(model, data), len(ids)


def check_drift(
    settings: Settings,
    model: str,
    window: timedelta,
    *,
    now: datetime | None = None,
    max_rows: int = MAX_ROWS,
    html: bool | None = None,
) -> DriftResult:
    """Compare the champion's reference with the last ``window`` of traffic; report and record it.

    ``html``: draw the HTML report always (True), never (False), or when the check drifted (None)."""
    now = now or datetime.now(UTC)
    version, whole = reference_features(settings, model)
    current, logged = current_features(settings, model, now - window, max_rows=max_rows)
    reference = same_season(whole, current)
    columns = _comparable(reference, current)
    if len(current) < MIN_CURRENT_ROWS or not columns:
        raise DataError(
            f"{registered_name(model)}: {len(current)} logged predictions with features in the last "
            f"{window}; need at least {MIN_CURRENT_ROWS} to check drift"
        )
    report, per_column, share = compare(reference[columns], current[columns], max_rows)
    answers = _answers_drifted(model, whole, current, max_rows)
    drifted = share >= settings.drift_threshold(model) or bool(answers)
    folder = settings.home / "reports" / "drift" / model
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    page = folder / f"{stamp}.html" if (drifted if html is None else html) else None
    if page is not None:
        report.save_html(str(page))
    result = DriftResult(
        model=model,
        version=version,
        checked_at=now.isoformat(timespec="seconds"),
        window=str(window),
        reference_rows=len(reference),
        current_rows=logged,
        drift_share=share,
        dataset_drift=drifted,
        columns=per_column,
        report_html=str(page) if page else "",
        mlflow_run_id="",  # the run's own id, once it is logged
        answers_drifted=answers,
    )
    result = replace(result, mlflow_run_id=_log_run(settings, result, page))
    (folder / f"{stamp}.json").write_text(json.dumps(asdict(result), indent=2, default=str))
    _record(settings, result, now - window, now)
    log.info(
        "drift checked", extra={"model": model, "drift_share": share, "dataset_drift": result.dataset_drift}
    )
    return result


def _answers_drifted(
    model: str, reference: pd.DataFrame, current: pd.DataFrame, max_rows: int
) -> tuple[str, ...]:
    """The model's decision columns (:data:`ANSWER_COLUMNS`) that drifted against the *whole*
    reference: a decision rate is the model's, not the calendar's, and a rare one (1% of debits
    flagged) read off one season's few hundred reference rows is a handful of flags, too few to
    compare a day with (a quiet first of the month drifted against 1 flag in 322 rows)."""
    names = [name for name in ANSWER_COLUMNS.get(model, ()) if name in _comparable(reference, current)]
    if not names:
        return ()
    _, verdicts, _ = compare(reference[names], current[names], max_rows)
    return tuple(name for name in names if verdicts.get(name, {}).get("drifted"))


def _comparable(reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """The reference's columns that both sides hold a value of (Evidently refuses an empty column)."""
    return [
        column
        for column in reference.columns
        if column in current.columns and not column.startswith("_")
        and reference[column].notna().any() and current[column].notna().any()
    ]  # fmt: skip


def same_season(reference: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The reference rows drawn in the traffic's mix of the parts of the cycle (``_season``: the
    turn or the middle of the month): from each season the traffic holds, as many reference rows as
    keeps its share, as many in all as the reference allows (seeded). Each season needs at least
    :data:`MIN_SEASON_ROWS` reference rows to be matched; otherwise the whole reference is used.

    A week of traffic with the turn of the month in it (salary, rent, EMIs, bills) differs from a
    reference drawn over whole months in its categories and amounts, and a day of it more still:
    compared with all of it, a quiet first week raised a drift alarm every simulated month
    (docs/BENCHMARKS.md, "Living platform")."""
    if SEASON not in reference.columns or SEASON not in current.columns:
        return reference
    shares = current[SEASON].dropna().value_counts(normalize=True)
    available = reference[SEASON].value_counts()
    if shares.empty or any(available.get(season, 0) < MIN_SEASON_ROWS for season in shares.index):
        return reference
    total = min(available[season] / share for season, share in shares.items())
    parts = [
        reference[reference[SEASON] == season].sample(
            n=max(1, min(int(available[season]), round(share * total))), random_state=0
        )
        for season, share in shares.items()
    ]
    return pd.concat(parts).sort_index()


def compare(
    reference: pd.DataFrame, current: pd.DataFrame, max_rows: int = MAX_ROWS
) -> tuple[Report, dict[str, dict[str, Any]], float]:
    """Evidently's data-drift report of ``current`` against ``reference`` (each sampled to
    ``max_rows``; computed, drawn only by ``save_html``), its per-column verdicts and the share of
    drifted columns."""
    # A column constant on one side (every debit at one hour, a label never found) is normal; its
    # correlation, which Evidently computes beside the drift, divides by a zero deviation.
    report = Report(metrics=[DataDriftPreset()])
    with np.errstate(divide="ignore", invalid="ignore"):
        report.run(current_data=_sample(current, max_rows), reference_data=_sample(reference, max_rows))
    per_column, share = _parse(report.as_dict())
    return report, per_column, share


def _sample(frame: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    return frame.sample(n=max_rows, random_state=0) if len(frame) > max_rows else frame


def _parse(report: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], float]:
    """Per-column verdicts (drifted, score, method) and the share of drifted columns of a report."""
    for metric in report["metrics"]:
        if metric["metric"] == "DataDriftTable":
            table = metric["result"]
            columns = {
                str(name): {
                    "drifted": bool(column["drift_detected"]),
                    "score": float(column["drift_score"]),
                    "method": str(column["stattest_name"]),
                }
                for name, column in table["drift_by_columns"].items()
            }
            return columns, float(table["share_of_drifted_columns"])
    raise DataError("the drift report holds no data-drift table")


def _log_run(settings: Settings, result: DriftResult, html: Path | None) -> str:
    experiment_id = ensure_experiment(settings, result.model)
    tags = {"nivesh.kind": "drift"}
    with mlflow.start_run(experiment_id=experiment_id, run_name="drift-check", tags=tags) as run:
        mlflow.log_metrics({"drift_share": result.drift_share, "current_rows": result.current_rows})
        mlflow.log_dict(asdict(result), "drift/summary.json")
        if html is not None:
            mlflow.log_artifact(str(html), artifact_path="drift")
        return str(run.info.run_id)


def _record(settings: Settings, result: DriftResult, start: datetime, end: datetime) -> None:
    """The verdict in the app DB, where every model server's gauges read it."""
    with session_scope(app_engine(settings)) as session:
        repository.record_drift_check(
            session,
            model_key=result.model,
            model_name=registered_name(result.model),
            version=result.version,
            window_start=start,
            window_end=end,
            checked_at=end,
            drift_share=result.drift_share,
            dataset_drift=result.dataset_drift,
            columns=result.columns,
            reference_rows=result.reference_rows,
            current_rows=result.current_rows,
            report_path=result.report_html,
            mlflow_run_id=result.mlflow_run_id,
        )


def check_all(
    settings: Settings, window: timedelta, *, now: datetime | None = None, max_rows: int = MAX_ROWS
) -> list[DriftOutcome]:
    """:func:`check_drift` for every model that has a champion with a reference; for the others, why not.

    A model with too little traffic in the window is skipped (its reason says so); any other error
    is that model's ``failed`` outcome and the others are still checked.
    """
    now = now or datetime.now(UTC)
    outcomes: list[DriftOutcome] = []
    for model in MODEL_KEYS:
        try:
            outcomes.append(_check_one(settings, model, window, now, max_rows))
        except Exception as error:  # one model's broken check must not hide the others' verdicts
            log.exception("drift check failed", extra={"model": model})
            outcomes.append(DriftOutcome(model, "failed", f"{model}: {error}"))
    return outcomes


def _check_one(
    settings: Settings, model: str, window: timedelta, now: datetime, max_rows: int
) -> DriftOutcome:
    reason = skip_reason(settings, model)
    if reason is not None:
        return DriftOutcome(model, "skipped", reason)
    try:
        result = check_drift(settings, model, window, now=now, max_rows=max_rows)
    except DataError as error:  # too little traffic in the window
        return DriftOutcome(model, "skipped", f"{model}: {error}")
    verdict = "DRIFT" if result.dataset_drift else "no drift"
    return DriftOutcome(model, "checked", f"{model}: {verdict}, {result.drift_share:.0%} drifted", result)


def skip_reason(settings: Settings, model: str) -> str | None:
    """Why ``model`` cannot be drift-checked (no champion, or its champion logged no reference), or None."""
    try:
        version = resolve_alias(settings, model)
    except ModelNotFoundError:
        return f"{model}: no champion to check (train it with `nivesh-ml train {model}`)"
    run_id = client(settings).get_model_version(registered_name(model), version).run_id
    if run_id and client(settings).list_artifacts(run_id, REFERENCE_DIR):
        return None
    return f"{model}: champion v{version} logged no drift reference (retrain it to log one)"
