"""Mirror the registry's aliases into the app DB, in one transaction per move.

``model_registry.status``: ``production`` for the champion, ``archived`` for former champions,
``staging`` for every other version. ``model_deployment``: one active row for the champion
(environment ``production``, the traffic the challenger does not take) and one for the
challenger (``canary`` with ``NIVESH_CANARY_TRAFFIC_PERCENTAGE``, or ``shadow`` at 0%); rows
that no longer match become ``inactive`` (``rolled_back`` for a rolled-back champion).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from sqlalchemy.orm import Session

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelDeployment, ModelRegistry, repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.db.models import utcnow
from nivesh_ml.tracking.store import client, registered_name

__all__ = ["endpoint_for", "mirror_aliases"]


@dataclass(frozen=True)
class _Wanted:
    environment: str
    traffic: int


def endpoint_for(model: str) -> str:
    """The model server route that serves ``model``."""
    return "/assistant/chat" if model == "assistant" else f"/predict/{model}"


def mirror_aliases(settings: Settings, model: str, *, rolled_back: str | None = None) -> None:
    """Make the app DB's rows for ``model`` agree with the registry's aliases now."""
    mlflow_client, name = client(settings), registered_name(model)
    versions = mlflow_client.search_model_versions(f"name = '{name}'")
    champion = _alias(mlflow_client, name, "champion")
    challenger = _alias(mlflow_client, name, "challenger")
    history = set(
        (mlflow_client.get_registered_model(name).tags or {}).get("nivesh.champion_history", "").split(",")
    )
    wanted = _wanted(settings, champion, challenger)
    with session_scope(app_engine(settings)) as session:
        for mv in versions:
            version = str(mv.version)
            row = _row(session, model, name, mv)
            status = "production" if version == champion else "archived" if version in history else "staging"
            if version == rolled_back:
                status = "archived"
            if status == "production" and row.status != "production":
                row.deployed_at = utcnow()
            row.status = status
            _sync_deployment(session, row, wanted.get(version), model, rolled_back == version)


def _wanted(settings: Settings, champion: str | None, challenger: str | None) -> dict[str, _Wanted]:
    share = settings.canary_traffic_percentage if challenger else 0
    wanted: dict[str, _Wanted] = {}
    if champion:
        wanted[champion] = _Wanted("production", 100 - share)
    if challenger and challenger != champion:
        wanted[challenger] = _Wanted("canary" if share else "shadow", share)
    return wanted


def _row(session: Session, model: str, name: str, mv: ModelVersion) -> ModelRegistry:
    row = repository.get_model_version(session, name, str(mv.version))
    if row is None:  # registered outside `TrainingRun.log_model` (e.g. in the MLflow UI)
        row = repository.register_model_version(
            session,
            model_name=name,
            model_type=model,
            version=str(mv.version),
            framework="pyfunc",
            artifact_path=mv.source or "",
            created_by=getpass.getuser(),
        )
    return row


def _sync_deployment(
    session: Session, row: ModelRegistry, wanted: _Wanted | None, model: str, rolled_back: bool
) -> None:
    keep: ModelDeployment | None = None
    for deployment in row.deployments:
        if deployment.status != "active":
            continue
        matches = wanted is not None and (deployment.environment, deployment.traffic_percentage) == (
            wanted.environment,
            wanted.traffic,
        )
        if matches and keep is None:
            keep = deployment
        else:
            deployment.status = "rolled_back" if rolled_back else "inactive"
    if wanted is not None and keep is None:
        session.add(
            ModelDeployment(
                model=row,
                environment=wanted.environment,
                endpoint_url=endpoint_for(model),
                traffic_percentage=wanted.traffic,
            )
        )


def _alias(mlflow_client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(mlflow_client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None
