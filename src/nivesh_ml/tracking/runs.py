"""One helper every training pipeline logs through: params, metrics, artefacts, data sets, the model.

::

    with start_training_run(settings, "credit-risk") as run:
        run.log_params({"max_depth": 4})
        run.log_dataset(train, name="nivesh-credit-train", role="training", source="var/data/...")
        run.log_metrics({"auc": 0.86})
        version = run.log_model(CreditRiskModel(), artifacts={...}, signature=..., input_example=...)

Every data set a run sees is registered in the app DB's ``training_dataset`` (content hash as
its version) and logged with ``mlflow.log_input``, so a model version leads to its run, the run to
the data set hashes, and the hashes to the rows of ``training_dataset``.
"""

from __future__ import annotations

import getpass
import subprocess  # nosec B404  # runs git only, below
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import mlflow
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import Run
from mlflow.models import ModelSignature
from mlflow.pyfunc.model import PythonModel

from nivesh_ml.config import Settings
from nivesh_ml.data.versioning import frame_version
from nivesh_ml.db import repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.log import get_logger
from nivesh_ml.tracking.store import ensure_experiment, registered_name

__all__ = ["RegisteredVersion", "TrainingRun", "pip_requirements", "start_training_run"]

log = get_logger(__name__)

DatasetRole = Literal["training", "validation", "evaluation"]
TAG_DATASET = "nivesh.dataset."  # + role -> content hash
TAG_GIT = "nivesh.git_commit"
REFERENCE_DIR = "reference"  # artefact folder of the drift reference sample
REFERENCE_ROWS = 50_000


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version the run registered."""

    name: str
    version: str
    run_id: str
    model_uri: str


def pip_requirements(*packages: str) -> list[str]:
    """``name==version`` pins of installed packages, for a logged model's environment."""
    return [f"{name}=={metadata.version(name)}" for name in ("mlflow", "pandas", "numpy", *packages)]


def git_commit() -> str:
    """The checkout's commit (with ``-dirty`` when it has uncommitted changes), or ``unknown``."""
    root = Path(__file__).resolve().parents[3]
    try:
        sha = subprocess.run(  # nosec B603 B607  # fixed git argv, no shell
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True)  # nosec B603 B607  # fixed argv
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


class TrainingRun:
    """An active MLflow run of one model's training, with the app DB beside it."""

    def __init__(self, settings: Settings, model: str, run: Run) -> None:
        self.settings = settings
        self.model = model
        self.run = run
        self.datasets: dict[str, str] = {}

    @property
    def run_id(self) -> str:
        """The MLflow run id."""
        return str(self.run.info.run_id)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log hyperparameters and settings of the run."""
        mlflow.log_params(dict(params))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log metrics (per ``step`` where the curve matters)."""
        mlflow.log_metrics({name: float(value) for name, value in metrics.items()}, step=step)

    def log_dataset(
        self, frame: pd.DataFrame, *, name: str, role: DatasetRole, source: str, data_source: str = "nivesh"
    ) -> str:
        """Register ``frame`` in ``training_dataset`` and log it as the run's input; returns its hash."""
        content_hash = frame_version(frame)
        with session_scope(app_engine(self.settings)) as session:
            repository.record_training_dataset(
                session,
                dataset_name=name,
                model_type=self.model,
                data_source=data_source,
                size=len(frame),
                s3_path=source,
                content_hash=content_hash,
            )
        dataset = from_pandas(frame, source=source, name=name, digest=content_hash[:16])
        mlflow.log_input(dataset, context=role)
        mlflow.set_tag(f"{TAG_DATASET}{role}", content_hash)
        self.datasets[role] = content_hash
        return content_hash

    def log_reference(self, features: pd.DataFrame, *, max_rows: int = REFERENCE_ROWS) -> None:
        """Log a sample of the model's input features as its drift reference (reference/features.parquet)."""
        sample = features.sample(n=max_rows, random_state=0) if len(features) > max_rows else features
        with tempfile.TemporaryDirectory(prefix="nivesh-reference-") as folder:
            path = Path(folder) / "features.parquet"
            sample.reset_index(drop=True).to_parquet(path, index=False)
            mlflow.log_artifact(str(path), artifact_path=REFERENCE_DIR)

    def log_dict(self, value: Mapping[str, Any], path: str) -> None:
        """Log a JSON artefact (a report, a metrics table)."""
        mlflow.log_dict(dict(value), path)

    def log_text(self, text: str, path: str) -> None:
        """Log a text artefact (markdown, HTML)."""
        mlflow.log_text(text, path)

    def log_figure(self, figure: Any, path: str) -> None:
        """Log a matplotlib figure as a PNG."""
        mlflow.log_figure(figure, path)

    @contextmanager
    def child(self, name: str) -> Iterator[str]:
        """A nested run (one hyperparameter trial, say); yields its run id."""
        experiment_id = self.run.info.experiment_id  # else MLflow files it under "Default"
        with mlflow.start_run(run_name=name, nested=True, experiment_id=experiment_id) as nested:
            yield str(nested.info.run_id)

    def log_model(
        self,
        python_model: PythonModel,
        *,
        signature: ModelSignature,
        input_example: Any,
        artifacts: Mapping[str, str] | None = None,
        requirements: list[str] | None = None,
        framework: str = "pyfunc",
        metrics: Mapping[str, float] | None = None,
    ) -> RegisteredVersion:
        """Log the served pyfunc with its signature and example, register it, mirror it in the app DB."""
        name = registered_name(self.model)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=python_model,
            artifacts=dict(artifacts or {}),
            signature=signature,
            input_example=input_example,
            pip_requirements=requirements or pip_requirements(),
            registered_model_name=name,
        )
        version = str(info.registered_model_version)
        with session_scope(app_engine(self.settings)) as session:
            repository.register_model_version(
                session,
                model_name=name,
                model_type=self.model,
                version=version,
                framework=framework,
                artifact_path=info.model_uri,
                created_by=getpass.getuser(),
                metrics=dict(metrics or {}),
                training_data_version=self.datasets.get("training"),
            )
        log.info("registered model version", extra={"model": name, "version": version, "run_id": self.run_id})
        return RegisteredVersion(name, version, self.run_id, info.model_uri)


@contextmanager
def start_training_run(
    settings: Settings, model: str, *, run_name: str | None = None, tags: Mapping[str, str] | None = None
) -> Iterator[TrainingRun]:
    """Start a run in ``nivesh/<model>`` tagged with the git commit; it ends FAILED if the body raises."""
    experiment_id = ensure_experiment(settings, model)
    all_tags = {TAG_GIT: git_commit(), "nivesh.model": model, **(tags or {})}
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=all_tags) as run:
        yield TrainingRun(settings, model, run)
