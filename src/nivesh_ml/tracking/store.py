"""Where MLflow keeps runs and models, and the experiment and registered name of each model.

Embedded default: a SQLite backend store and local artefacts under ``<home>/mlflow`` (no
server); a home copied or restored elsewhere has its stored locations moved to where it is now
when its store is opened (:mod:`~nivesh_ml.tracking.relocation`). Production:
``NIVESH_MLFLOW_TRACKING_URI`` names an MLflow server (PostgreSQL backend store, S3/MinIO
artefacts); artefact locations are then the server's to choose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import mlflow
from mlflow import MlflowClient

from nivesh_ml.config import Settings
from nivesh_ml.errors import TrackingError
from nivesh_ml.tracking.relocation import relocate_home

__all__ = [
    "MODEL_KEYS",
    "ModelKey",
    "artifact_root",
    "client",
    "ensure_experiment",
    "registered_name",
    "use_tracking",
]

ModelKey = Literal["intent", "ner", "spending", "anomaly", "credit-risk", "assistant"]
MODEL_KEYS: tuple[ModelKey, ...] = ("intent", "ner", "spending", "anomaly", "credit-risk", "assistant")


def registered_name(model: str) -> str:
    """The registry name of a model key: ``credit-risk`` -> ``nivesh-credit-risk``."""
    if model not in MODEL_KEYS:
        raise TrackingError(f"unknown model {model!r}; choose one of {', '.join(MODEL_KEYS)}")
    return f"nivesh-{model}"


def artifact_root(settings: Settings, model: str) -> Path:
    """Where the embedded store keeps the artefacts of experiment ``nivesh/<model>``."""
    return settings.mlflow_dir / "artifacts" / model


def _embedded(settings: Settings) -> bool:
    return not settings.mlflow_tracking_uri


def use_tracking(settings: Settings) -> MlflowClient:
    """Point this process's MLflow at the configured store (creating the embedded one) and return a client."""
    settings.export_offline_env()
    if _embedded(settings):
        settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
        relocate_home(settings, {f"nivesh/{model}": artifact_root(settings, model) for model in MODEL_KEYS})
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def client(settings: Settings) -> MlflowClient:
    """A client on the configured tracking store and registry."""
    return use_tracking(settings)


def ensure_experiment(settings: Settings, model: str) -> str:
    """The id of experiment ``nivesh/<model>``, created on first use (artefacts under home when embedded)."""
    registered_name(model)
    name = f"nivesh/{model}"
    mlflow_client = use_tracking(settings)
    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    if _embedded(settings):
        location = artifact_root(settings, model).resolve().as_uri()
    return str(mlflow_client.create_experiment(name, artifact_location=location))
