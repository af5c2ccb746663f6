"""The Vertex AI backend: a supervised tuning job of a Gemini model on the assistant's data.

The request is plain data (:class:`TuningRequest`, the REST body of
``projects.locations.tuningJobs.create``), so tests check what would be sent without a network.
Only :func:`submit` talks to Google, through the official ``google-genai`` SDK (and
``google-cloud-storage`` for the upload), imported there and nowhere else. Without the SDK,
credentials, a project or a bucket, :func:`train_vertex` stops before doing anything, with one
line that says what is missing.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nivesh_ml.errors import TrackingError
from nivesh_ml.models.assistant.config import AssistantConfig, VertexConfig
from nivesh_ml.models.assistant.data import ChatRecord, write_chat
from nivesh_ml.models.assistant.exports import convert

if TYPE_CHECKING:
    from nivesh_ml.config import Settings
    from nivesh_ml.models.common import TrainOptions, TrainReport

__all__ = [
    "ADAPTER_SIZES",
    "TunedEndpoint",
    "TuningRequest",
    "build_request",
    "check_ready",
    "submit",
    "train_vertex",
]

ADAPTER_SIZES = {
    1: "ADAPTER_SIZE_ONE",
    4: "ADAPTER_SIZE_FOUR",
    8: "ADAPTER_SIZE_EIGHT",
    16: "ADAPTER_SIZE_SIXTEEN",
}
MAX_VALIDATION = 256  # Vertex refuses larger validation sets
_DONE = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}


@dataclass(frozen=True)
class TuningRequest:
    """Everything a tuning job needs: where, which base model, which data, which hyperparameters."""

    project: str
    location: str
    base_model: str
    training_uri: str
    validation_uri: str | None
    epochs: int
    learning_rate_multiplier: float
    adapter_size: str
    display_name: str

    @property
    def parent(self) -> str:
        """``projects/P/locations/L``, where the job is created."""
        return f"projects/{self.project}/locations/{self.location}"

    def to_rest(self) -> dict[str, Any]:
        """The REST body of ``tuningJobs.create`` (what the SDK sends)."""
        spec: dict[str, Any] = {
            "trainingDatasetUri": self.training_uri,
            "hyperParameters": {
                "epochCount": self.epochs,
                "learningRateMultiplier": self.learning_rate_multiplier,
                "adapterSize": self.adapter_size,
            },
        }
        if self.validation_uri:
            spec["validationDatasetUri"] = self.validation_uri
        return {
            "baseModel": self.base_model,
            "supervisedTuningSpec": spec,
            "tunedModelDisplayName": self.display_name,
        }


def build_request(config: VertexConfig, prefix: str, with_validation: bool = True) -> TuningRequest:
    """The request for data uploaded under ``gs://<bucket>/<prefix>/``; TrackingError if unset or bad."""
    if not config.project or not config.bucket:
        raise TrackingError(
            "Vertex tuning needs a GCP project and a gs:// bucket (VertexConfig.project, .bucket)"
        )
    if not config.base_model.startswith("gemini-"):
        raise TrackingError(
            f"Vertex tuning takes a Gemini base model id (gemini-2.0-flash-001), not {config.base_model!r}"
        )
    if config.adapter_size not in ADAPTER_SIZES:
        raise TrackingError(f"adapter_size must be one of {sorted(ADAPTER_SIZES)}, not {config.adapter_size}")
    if config.epochs < 1 or config.learning_rate_multiplier <= 0:
        raise TrackingError("epochs must be at least 1 and learning_rate_multiplier above 0")
    root = f"gs://{config.bucket.removeprefix('gs://').rstrip('/')}/{prefix.strip('/')}"
    return TuningRequest(
        project=config.project,
        location=config.location,
        base_model=config.base_model,
        training_uri=f"{root}/vertex_train.jsonl",
        validation_uri=f"{root}/vertex_validation.jsonl" if with_validation else None,
        epochs=config.epochs,
        learning_rate_multiplier=config.learning_rate_multiplier,
        adapter_size=ADAPTER_SIZES[config.adapter_size],
        display_name=config.display_name,
    )


def write_dataset(splits: Mapping[str, Sequence[ChatRecord]], folder: Path) -> dict[str, Path]:
    """The Gemini-format train and validation files (validation capped at Vertex's 256 rows)."""
    paths = {"train": folder / "vertex_train.jsonl", "validation": folder / "vertex_validation.jsonl"}
    write_chat(paths["train"], convert(splits["train"], "vertex"))
    write_chat(paths["validation"], convert(list(splits["validation"])[:MAX_VALIDATION], "vertex"))
    return paths


def check_ready(config: VertexConfig) -> None:
    """Stop at once, with what is missing, unless the SDK, a project, a bucket and credentials are there."""
    build_request(config, "check")
    try:
        import google.auth
        from google import genai  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
        from google.cloud import storage  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        raise TrackingError(
            "Vertex tuning needs the Google SDK: pip install google-genai google-cloud-storage"
        ) from None
    try:
        google.auth.default()
    except Exception as exc:  # google.auth raises several types; all mean "no usable credentials"
        raise TrackingError(
            f"no Google credentials: run `gcloud auth application-default login` ({exc})"
        ) from None


@dataclass(frozen=True)
class TunedEndpoint:
    """A finished tuning job: the tuned model and the endpoint that serves it."""

    job: str
    model: str
    endpoint: str
    project: str
    location: str

    def to_dict(self) -> dict[str, str]:
        """JSON-able, for the served model's config."""
        return asdict(self)


ProgressCallback = Callable[[str, float], None]


def submit(
    request: TuningRequest,
    files: Mapping[str, Path],
    config: VertexConfig,
    on_state: ProgressCallback | None = None,
    client: Any = None,
) -> TunedEndpoint:
    """Upload the files, start the job, poll it until it ends; TrackingError unless it succeeds."""
    from google.genai import types  # type: ignore[import-untyped,unused-ignore]

    if client is None:
        from google import genai  # type: ignore[import-untyped,unused-ignore]

        _upload(request, files)
        client = genai.Client(vertexai=True, project=request.project, location=request.location)
    validation = (
        types.TuningValidationDataset(gcs_uri=request.validation_uri) if request.validation_uri else None
    )
    job = client.tunings.tune(
        base_model=request.base_model,
        training_dataset=types.TuningDataset(gcs_uri=request.training_uri),
        config=types.CreateTuningJobConfig(
            epoch_count=request.epochs,
            learning_rate_multiplier=request.learning_rate_multiplier,
            adapter_size=request.adapter_size,
            tuned_model_display_name=request.display_name,
            validation_dataset=validation,
        ),
    )
    job = _poll(client, job, config, on_state)
    if str(getattr(job.state, "name", job.state)) != "JOB_STATE_SUCCEEDED" or job.tuned_model is None:
        raise TrackingError(f"Vertex tuning job {job.name} ended in {job.state}: {getattr(job, 'error', '')}")
    return TunedEndpoint(
        job.name, job.tuned_model.model, job.tuned_model.endpoint, request.project, request.location
    )


def _poll(client: Any, job: Any, config: VertexConfig, on_state: ProgressCallback | None) -> Any:
    started = time.monotonic()
    while str(getattr(job.state, "name", job.state)) not in _DONE:
        elapsed = time.monotonic() - started
        if elapsed > config.timeout_s:
            raise TrackingError(f"Vertex tuning job {job.name} still running after {config.timeout_s:.0f} s")
        if on_state is not None:
            on_state(str(getattr(job.state, "name", job.state)), elapsed)
        time.sleep(config.poll_seconds)
        job = client.tunings.get(name=job.name)
    return job


def _upload(request: TuningRequest, files: Mapping[str, Path]) -> None:
    from google.cloud import storage  # type: ignore[import-untyped,unused-ignore]

    bucket_client = storage.Client(project=request.project)
    uris = {"train": request.training_uri, "validation": request.validation_uri}
    for split, path in files.items():
        uri = uris[split]
        if uri is None:
            continue
        bucket, _, blob = uri.removeprefix("gs://").partition("/")
        bucket_client.bucket(bucket).blob(blob).upload_from_filename(str(path))


def train_vertex(settings: Settings, options: TrainOptions, config: AssistantConfig) -> TrainReport:
    """Tune Gemini on Vertex AI; register its endpoint (no gate: there is no local perplexity)."""
    import pandas as pd
    from mlflow.models import infer_signature

    from nivesh_ml.models.assistant.config import MODEL_KEY
    from nivesh_ml.models.assistant.model import GeminiEndpointModel
    from nivesh_ml.models.assistant.train import load_splits
    from nivesh_ml.models.common import TrainReport
    from nivesh_ml.progress import stage_progress
    from nivesh_ml.tracking.runs import pip_requirements, start_training_run

    check_ready(config.vertex)  # before any run is opened: fail fast, with what is missing
    splits = load_splits(options)
    prefix = f"nivesh-assistant/{time.strftime('%Y%m%d-%H%M%S')}"
    request = build_request(config.vertex, prefix)
    with (
        start_training_run(settings, MODEL_KEY, run_name="vertex") as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        run.log_dict(request.to_rest(), "vertex_request.json")
        run.log_params(
            {
                "backend": "vertex",
                "base_model": request.base_model,
                "epochs": request.epochs,
                "learning_rate_multiplier": request.learning_rate_multiplier,
                "adapter_size": request.adapter_size,
            }
        )
        files = write_dataset(splits, Path(tmp))
        with stage_progress("Vertex tuning", ["JOB_STATE_PENDING", "JOB_STATE_RUNNING"]) as done:
            tuned = submit(request, files, config.vertex, on_state=lambda state, _: done(state))
        meta = Path(tmp) / "endpoint.json"
        meta.write_text(json.dumps(tuned.to_dict()))
        example = pd.DataFrame({"messages": ['[{"role": "user", "content": "balance?"}]'], "context": [""]})
        output = pd.DataFrame(
            {"reply": ['{"name": "get_balance", "arguments": {}}'], "tool": ["get_balance"]}
        )
        version = run.log_model(
            GeminiEndpointModel(),
            signature=infer_signature(example, output),
            input_example=example,
            artifacts={"endpoint": str(meta)},
            requirements=pip_requirements("google-genai"),
            framework="vertex-gemini",
        )
    reason = f"tuned endpoint {tuned.endpoint}: evaluate it on Vertex before promoting"
    return TrainReport(
        MODEL_KEY, run.run_id, {}, version.version, None, reason, {"endpoint": tuned.to_dict()}
    )
