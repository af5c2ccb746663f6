"""The Airflow DAGs: one retraining DAG per model, the weekly drift check that triggers them, and
the daily feature refresh.

- ``nivesh_retrain_<model>``: extract -> validate -> features -> train -> deploy, the steps of
  ``nivesh-ml pipeline run MODEL``; each task runs one step in the project's venv and hands the
  step context (small JSON) to the next as XCom. Params: ``quick`` (train in quick mode).
- ``nivesh_drift_weekly``: ``check_drift`` per model (mapped), then ``retrain`` triggers the
  retraining DAG of every model whose traffic drifted. Params: ``window``, ``quick``.
- ``nivesh_daily``: the living platform's day (``nivesh-ml pipeline daily``): ingest -> features
  (incremental) -> drift -> retrain what a trigger asks for -> decide canaries. Params: ``days``,
  ``scenario``, ``window``, ``quick``.
- ``nivesh_features_refresh``: daily, ``nivesh-ml features refresh``: every online feature view
  kept inside its TTL (``transaction_stats`` lives two days); a failed run is retried.

Airflow runs in its own venv and parses this file with Airflow alone. The task bodies import
``nivesh_ml`` inside the project's interpreter: the Airflow Variable ``nivesh_python``, else
``NIVESH_PYTHON``, else ``<repo>/.venv/bin/python``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import (  # type: ignore[import-not-found]
    TriggerDagRunOperator,
)
from airflow.sdk import DAG, Param, get_current_context, task  # type: ignore[import-not-found]

# Kept equal to nivesh_ml's MODEL_KEYS and retrain.STEPS (tests/pipelines/test_dags.py checks):
# this file must not import nivesh_ml, whose dependencies live in the other venv.
MODELS = ("intent", "ner", "spending", "anomaly", "credit-risk", "assistant")
STEPS = ("extract", "validate", "features", "train", "deploy")
DAILY_STEPS = ("ingest", "features", "drift", "retrain", "canary")  # = nivesh_ml's daily.DAILY_STEPS

_REPO = Path(__file__).resolve().parents[4]
_DEFAULT_PYTHON = os.environ.get("NIVESH_PYTHON") or str(_REPO / ".venv" / "bin" / "python")
# `python` is a templated field: the Variable wins when set, at run time.
PYTHON = "{{ var.value.get('nivesh_python', '" + _DEFAULT_PYTHON + "') }}"
START = datetime(2026, 1, 1)
# A failed step is retried once; its inputs are the XCom of the step before, so nothing is redone.
DEFAULT_ARGS: dict[str, Any] = {"owner": "nivesh-ml", "retries": 1, "retry_delay": timedelta(minutes=1)}


def retrain_dag_id(model: str) -> str:
    """The id of ``model``'s retraining DAG."""
    return f"nivesh_retrain_{model}"


def _run_step(step: str, model: str, context: dict[str, Any]) -> dict[str, Any]:
    # runs in the project's venv: imports inside, nothing from this module's scope
    from nivesh_ml.pipelines.dags.tasks import run_step

    return run_step(step, model, context)


def _check_drift(model: str, window: str) -> dict[str, Any]:
    # runs in the project's venv: imports inside, nothing from this module's scope
    from nivesh_ml.pipelines.dags.tasks import check_model_drift

    return check_model_drift(model, window)


def _refresh_features() -> list[dict[str, Any]]:
    # runs in the project's venv: imports inside, nothing from this module's scope
    from nivesh_ml.pipelines.dags.tasks import refresh_features

    return refresh_features()


def _daily_step(step: str, options: dict[str, Any]) -> dict[str, Any]:
    # runs in the project's venv: imports inside, nothing from this module's scope
    from nivesh_ml.pipelines.dags.tasks import daily_step

    return daily_step(step, options)


def _project_task(task_id: str) -> Any:
    return task.external_python(task_id=task_id, python=PYTHON, expect_airflow=False, multiple_outputs=False)


def build_retrain_dag(model: str) -> Any:
    """``model``'s retraining DAG: one task per step, the context passed on as XCom."""
    with DAG(
        dag_id=retrain_dag_id(model),
        description=f"Retrain {model}: the steps of `nivesh-ml pipeline run {model}`",
        schedule=None,
        start_date=START,
        catchup=False,
        default_args=DEFAULT_ARGS,
        params={"quick": Param(False, type="boolean", description="Train in quick mode (few steps).")},
        render_template_as_native_obj=True,  # "{{ params.quick }}" stays a bool
        max_active_runs=1,
        tags=["nivesh", "retrain"],
    ) as dag:
        context: Any = {"quick": "{{ params.quick }}"}
        for step in STEPS:
            context = _project_task(step)(_run_step)(step, model, context)
    return dag


def _retrain_requests(verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One TriggerDagRunOperator's kwargs per drifted model."""
    params = get_current_context()["params"]
    return [
        {
            "trigger_dag_id": retrain_dag_id(verdict["model"]),
            "conf": {"quick": params["quick"]},
            "note": f"drift: {verdict['reason']}",
        }
        for verdict in verdicts
        if verdict["drifted"]
    ]


def build_drift_dag() -> Any:
    """Weekly: check every model's drift and trigger the retraining DAG of each drifted one."""
    with DAG(
        dag_id="nivesh_drift_weekly",
        description="Drift of each champion's traffic; retrain the drifted models",
        schedule="@weekly",
        start_date=START,
        catchup=False,
        default_args=DEFAULT_ARGS,
        params={
            "window": Param("7d", type="string", pattern="^[1-9][0-9]*[dhm]$", description="7d, 24h, 30m."),
            "quick": Param(False, type="boolean", description="Retrain in quick mode."),
        },
        max_active_runs=1,
        tags=["nivesh", "drift"],
    ) as dag:
        verdicts = (
            _project_task("check_drift")(_check_drift)
            .partial(window="{{ params.window }}")
            .expand(model=list(MODELS))
        )
        requests = task(task_id="drifted_models")(_retrain_requests)(verdicts)
        TriggerDagRunOperator.partial(task_id="retrain").expand_kwargs(requests)
    return dag


def build_refresh_dag() -> Any:
    """Daily: keep every online feature view inside its TTL (``nivesh-ml features refresh``)."""
    with DAG(
        dag_id="nivesh_features_refresh",
        description="Keep the online feature views inside their TTL: copy changed rows, extend the others",
        schedule="@daily",
        start_date=START,
        catchup=False,
        # two missed days expire transaction_stats: retry through an outage of an hour or so
        default_args={**DEFAULT_ARGS, "retries": 6, "retry_delay": timedelta(minutes=10)},
        max_active_runs=1,
        tags=["nivesh", "features"],
    ) as dag:
        _project_task("refresh")(_refresh_features)()
    return dag


def build_daily_dag() -> Any:
    """Daily: the living platform's day, the steps of ``nivesh-ml pipeline daily`` one task each."""
    with DAG(
        dag_id="nivesh_daily",
        description="Ingest the new day, build features incrementally, check drift, retrain what a "
        "trigger asks for (as a canary challenger), decide the canaries",
        schedule="@daily",
        start_date=START,
        catchup=False,
        default_args=DEFAULT_ARGS,
        params={
            "days": Param(1, type="integer", minimum=0, description="Day partitions to ingest (0: none)."),
            "scenario": Param(
                "", type="string", description="A scenario for the ingested days (synthetic data)."
            ),
            "window": Param(
                "1d", type="string", pattern="^[1-9][0-9]*[dhm]$", description="Traffic for drift."
            ),
            "quick": Param(False, type="boolean", description="Retrain in quick mode."),
        },
        render_template_as_native_obj=True,
        max_active_runs=1,
        tags=["nivesh", "daily"],
    ) as dag:
        options: Any = {
            "days": "{{ params.days }}",
            "scenario": "{{ params.scenario }}",
            "window": "{{ params.window }}",
            "quick": "{{ params.quick }}",
        }
        previous = None
        for step in DAILY_STEPS:
            current = _project_task(step)(_daily_step)(step, options)
            if previous is not None:
                previous >> current
            previous = current
    return dag


# DAGs built in a `with DAG(...)` block register themselves with the DagBag.
for _model in MODELS:
    build_retrain_dag(_model)
build_drift_dag()
build_refresh_dag()
build_daily_dag()
