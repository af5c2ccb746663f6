"""The Vertex AI backend: the request it would send, and how it stops without SDK or credentials."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from nivesh_ml.config import Settings
from nivesh_ml.errors import TrackingError
from nivesh_ml.models.assistant.config import AssistantConfig, VertexConfig
from nivesh_ml.models.assistant.data import read_chat
from nivesh_ml.models.assistant.train import train
from nivesh_ml.models.assistant.vertex import _poll, build_request, check_ready, write_dataset
from nivesh_ml.models.common import TrainOptions

DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "assistant"
READY = VertexConfig(
    project="nivesh-prod", bucket="gs://nivesh-tuning/", epochs=4, learning_rate_multiplier=0.5
)


def test_the_request_is_the_documented_rest_body() -> None:
    request = build_request(READY, "nivesh-assistant/20260101-000000")
    assert request.parent == "projects/nivesh-prod/locations/us-central1"
    assert request.to_rest() == {
        "baseModel": "gemini-2.0-flash-001",
        "supervisedTuningSpec": {
            "trainingDatasetUri": "gs://nivesh-tuning/nivesh-assistant/20260101-000000/vertex_train.jsonl",
            "validationDatasetUri": "gs://nivesh-tuning/nivesh-assistant/20260101-000000/vertex_validation.jsonl",
            "hyperParameters": {
                "epochCount": 4,
                "learningRateMultiplier": 0.5,
                "adapterSize": "ADAPTER_SIZE_FOUR",
            },
        },
        "tunedModelDisplayName": "nivesh-assistant",
    }
    assert (
        "validationDatasetUri"
        not in build_request(READY, "p", with_validation=False).to_rest()["supervisedTuningSpec"]
    )


@pytest.mark.parametrize(
    ("config", "error"),
    [
        (VertexConfig(), "needs a GCP project"),
        (replace(READY, base_model="gpt-4o"), "Gemini base model"),
        (replace(READY, adapter_size=3), "adapter_size"),
        (replace(READY, epochs=0), "epochs"),
    ],
)
def test_bad_requests_are_refused(config: VertexConfig, error: str) -> None:
    with pytest.raises(TrackingError, match=error):
        build_request(config, "p")


def test_the_dataset_is_gemini_format(tmp_path: Path) -> None:
    splits = {name: read_chat(DATA_DIR / f"{name}.jsonl") for name in ("train", "validation")}
    paths = write_dataset(splits, tmp_path)
    rows = [json.loads(line) for line in paths["train"].read_text().splitlines()]
    assert len(rows) == len(splits["train"])
    assert {turn["role"] for row in rows for turn in row["contents"]} == {"user", "model"}
    assert all(row["systemInstruction"]["parts"][0]["text"] for row in rows)


def test_without_the_sdk_it_stops_at_once() -> None:
    with pytest.raises(TrackingError, match="pip install google-genai"):
        check_ready(READY)


def test_training_with_vertex_stops_before_any_run(settings: Settings) -> None:
    config = replace(AssistantConfig(), backend="vertex")
    with pytest.raises(TrackingError, match="needs a GCP project"):
        train(settings, TrainOptions(), config=config)
    assert not settings.mlflow_dir.exists()  # nothing was logged


def test_polling_follows_the_job_until_it_ends() -> None:
    states = iter(["JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"])
    seen: list[str] = []

    class Tunings:
        def get(self, name: str) -> Any:
            return SimpleNamespace(name=name, state=next(states))

    client = SimpleNamespace(tunings=Tunings())
    job = SimpleNamespace(name="projects/p/locations/l/tuningJobs/1", state="JOB_STATE_PENDING")
    done = _poll(client, job, replace(READY, poll_seconds=0.0), lambda state, _: seen.append(state))
    assert done.state == "JOB_STATE_SUCCEEDED"
    assert seen == ["JOB_STATE_PENDING", "JOB_STATE_RUNNING"]


def test_polling_gives_up_after_the_timeout() -> None:
    client = SimpleNamespace(
        tunings=SimpleNamespace(get=lambda name: SimpleNamespace(name=name, state="RUNNING"))
    )
    job = SimpleNamespace(name="job", state="JOB_STATE_RUNNING")
    with pytest.raises(TrackingError, match="still running"):
        _poll(client, job, replace(READY, poll_seconds=0.0, timeout_s=-1.0), None)
