"""The retraining pipeline: plain step functions, run in-process or as Airflow tasks.

extract -> validate -> features -> train (fit, evaluate, gate, register) -> deploy

Each step takes the settings, the model name and the context the earlier steps returned, and
returns what it adds to that context. ``run_pipeline`` records each finished step in
``<home>/pipelines/<model>/state.json``; after a failure the next run starts at the failed step
with the context the finished steps left, so nothing is redone. A run that finished clears it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import synthetic_dir
from nivesh_ml.data.schemas import SCHEMAS, validate
from nivesh_ml.data.synthetic import read_dataset
from nivesh_ml.db import ModelDeployment, ModelRegistry, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.errors import DataError
from nivesh_ml.log import get_logger
from nivesh_ml.models.common import TrainOptions, trainer
from nivesh_ml.monitoring.labels import export_labels
from nivesh_ml.pipelines.daily import prepare_data, refresh_features
from nivesh_ml.progress import stage_progress
from nivesh_ml.tracking.store import client, registered_name

__all__ = ["MANUAL", "STEPS", "TAG_TRIGGER", "PipelineResult", "Step", "run_pipeline", "state_path"]

log = get_logger(__name__)

Context = dict[str, Any]

TAG_TRIGGER = "nivesh.trigger"  # on the training run: drift, quality, schedule or manual (and .reason)
MANUAL: dict[str, str] = {"kind": "manual", "reason": "run by hand"}
LEARNS_FROM_FEEDBACK: frozenset[str] = frozenset({"credit-risk"})  # whose trainer joins feedback labels
FEEDBACK_WINDOW = timedelta(days=365)  # the outcomes a retrain learns from: predictions made since


@dataclass(frozen=True)
class Step:
    """One pipeline step: a name and a function (settings, model, context) -> additions to the context."""

    name: str
    run: Callable[[Settings, str, Mapping[str, Any]], Context]


@dataclass(frozen=True)
class PipelineResult:
    """The context a finished pipeline left, and which steps this invocation ran."""

    model: str
    ran: list[str]
    context: Context


def extract(settings: Settings, model: str, context: Mapping[str, Any]) -> Context:
    """Make sure the source data set exists; its version (history and every ingested day) goes
    into the context. For a model that learns from collected outcomes (:data:`LEARNS_FROM_FEEDBACK`),
    the outcomes of the last :data:`FEEDBACK_WINDOW` are exported as a labelled data set of their
    own version (``nivesh-<model>-feedback``), which the train step joins to the data set."""
    found: Context = {"data_version": prepare_data(settings), "labels": None, "labels_version": None}
    if model in LEARNS_FROM_FEEDBACK:
        try:
            folder = export_labels(settings, model, as_of=datetime.now(UTC), window=FEEDBACK_WINDOW)
        except DataError as error:  # no outcomes yet: the data set alone
            log.info(f"pipeline {model}: no feedback labels to learn from ({error})")
        else:
            found["labels"], found["labels_version"] = str(folder), folder.name
    return found


def validate_data(settings: Settings, model: str, context: Mapping[str, Any]) -> Context:
    """Check every table of the data set against its schema (a failure stops the pipeline here)."""
    data = read_dataset(synthetic_dir(settings))
    for name, frame in data.frames().items():
        validate(frame, SCHEMAS[name])
    return {"validated_rows": {name: len(frame) for name, frame in data.frames().items()}}


def features(settings: Settings, model: str, context: Mapping[str, Any]) -> Context:
    """Build the offline snapshots (incrementally) and refresh the online store."""
    built, written = refresh_features(settings)
    return {"snapshots_built": built, "materialized": written}


def train(settings: Settings, model: str, context: Mapping[str, Any]) -> Context:
    """Fit, evaluate, and register through the promotion gate; the run is tagged with its trigger.

    A retrain that beats the champion becomes a canary challenger, not the champion: live quality
    decides (``monitoring.canary``).
    """
    canary_first = settings.model_copy(update={"promote_via_canary": True})
    labels = context.get("labels")
    options = TrainOptions(  # learn from what is new: the newest data and the collected outcomes
        quick=bool(context.get("quick")), home_data=True, feedback_labels=Path(labels) if labels else None
    )
    report = trainer(model)(canary_first, options)
    trigger = dict(context.get("trigger") or MANUAL)
    tracking_client = client(settings)
    tracking_client.set_tag(report.run_id, TAG_TRIGGER, str(trigger.get("kind", "manual")))
    tracking_client.set_tag(report.run_id, TAG_TRIGGER + ".reason", str(trigger.get("reason", ""))[:5000])
    return {
        "run_id": report.run_id,
        "version": report.version,
        "outcome": report.outcome,
        "reason": report.reason,
        "metrics": report.metrics,
    }


def deploy(settings: Settings, model: str, context: Mapping[str, Any]) -> Context:
    """Report the deployment the gate's alias move created (canary share for a challenger)."""
    version = context.get("version")
    if version is None or context.get("outcome") == "rejected":
        return {"deployment": None}
    with session_scope(app_engine(settings)) as session:
        row = session.query(ModelRegistry).filter_by(model_name=registered_name(model), version=version).one()
        active = [d for d in row.deployments if d.status == "active"]
        return {"deployment": [_describe(d) for d in active]}


def _describe(deployment: ModelDeployment) -> dict[str, Any]:
    return {"environment": deployment.environment, "traffic": deployment.traffic_percentage}


STEPS: tuple[Step, ...] = (
    Step("extract", extract),
    Step("validate", validate_data),
    Step("features", features),
    Step("train", train),
    Step("deploy", deploy),
)


def state_path(settings: Settings, model: str) -> Path:
    """Where a pipeline run's progress is kept between attempts."""
    return settings.home / "pipelines" / model / "state.json"


def run_pipeline(
    settings: Settings,
    model: str,
    *,
    quick: bool = False,
    fresh: bool = False,
    steps: tuple[Step, ...] = STEPS,
    trigger: Mapping[str, str] = MANUAL,
) -> PipelineResult:
    """Run every step not yet finished for ``model``; resume after the failed step of an earlier run.

    ``trigger`` (``{"kind": ..., "reason": ...}``, see ``pipelines.triggers``) is recorded on the
    training run.
    """
    registered_name(model)
    path = state_path(settings, model)
    state: dict[str, Any] = {"done": [], "context": {"quick": quick, "trigger": dict(trigger)}}
    if path.exists() and not fresh:
        state = json.loads(path.read_text())
    ran: list[str] = []
    with stage_progress(f"retraining {model}", [step.name for step in steps]) as done:
        for step in steps:
            if step.name in state["done"]:
                done(step.name)
                continue
            log.info(f"pipeline {model}: {step.name}")
            state["context"].update(step.run(settings, model, state["context"]))
            state["done"].append(step.name)
            ran.append(step.name)
            _save(path, state)
            done(step.name)
    path.unlink(missing_ok=True)
    return PipelineResult(model, ran, state["context"])


def _save(path: Path, state: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, default=str))
    tmp.replace(path)
