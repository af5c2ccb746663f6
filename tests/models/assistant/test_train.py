"""Training end to end on a tiny model: runs, data sets, artefacts, registry, gate, serving, evaluate."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from mlflow import MlflowClient

from nivesh_ml.config import QualityBar, Settings, load_settings
from nivesh_ml.db import session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.db.models import TrainingDataset
from nivesh_ml.errors import DataError
from nivesh_ml.models.assistant.config import AssistantConfig
from nivesh_ml.models.assistant.evaluate import evaluate
from nivesh_ml.models.assistant.model import load_assistant
from nivesh_ml.models.assistant.tools import TOOLS
from nivesh_ml.models.assistant.train import train
from nivesh_ml.models.common import TrainOptions, TrainReport
from nivesh_ml.monitoring.drift import reference_features

DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "assistant"
SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


@dataclass(frozen=True)
class Trained:
    settings: Settings
    config: AssistantConfig
    first: TrainReport
    second: TrainReport


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_base: str) -> Trained:
    """Two quick versions in one home, with a perplexity bar a random two-layer model can clear."""
    bar = QualityBar(metric="perplexity", threshold=1e9, higher_is_better=False)
    settings = load_settings(
        _env_file=None,
        home=tmp_path_factory.mktemp("assistant-home") / "var",
        datasets_dir=SHARED_DATA,
        quality_bars={"assistant": bar},
    )
    config = replace(
        AssistantConfig.quick(), base_model=tiny_base, max_new_tokens=8, eval_examples=3, val_examples=2
    )
    first = train(settings, TrainOptions(quick=True), config=config)
    second = train(settings, TrainOptions(quick=True, seed=7), config=config)
    return Trained(settings, config, first, second)


def test_the_run_scores_before_and_after(trained: Trained) -> None:
    report = trained.first
    for name in (
        "perplexity",
        "base_perplexity",
        "json_valid",
        "base_tool_accuracy",
        "exact_match",
        "steps_per_s",
    ):
        assert name in report.metrics, name
    assert report.extra["base"]["examples"] == report.extra["tuned"]["examples"] == 3
    client = MlflowClient(trained.settings.tracking_uri)
    run = client.get_run(report.run_id)
    assert run.data.params["lora_r"] == "8"
    assert run.data.params["target_modules"] == "q_proj,v_proj"
    assert run.data.params["base_source"] == "local"
    assert len(client.get_metric_history(report.run_id, "train_loss")) == 5
    exports = {a.path for a in client.list_artifacts(report.run_id, "exports")}
    assert {"exports/hf_train.jsonl", "exports/vertex_train.jsonl", "exports/openai_train.jsonl"} <= exports
    with session_scope(app_engine(trained.settings)) as session:
        names = {row.dataset_name for row in session.query(TrainingDataset).all()}
    assert names == {"assistant-train", "assistant-validation", "assistant-test"}


def test_the_run_logs_the_tool_called_per_scored_chat_as_its_drift_reference(trained: Trained) -> None:
    _, reference = reference_features(trained.settings, "assistant")
    assert len(reference) == trained.config.eval_examples
    assert "text_chars" in reference.columns
    assert set(reference["tool"]) <= {"none", *TOOLS}  # a random tiny model mostly fails to call one


def test_the_adapter_not_the_base_is_logged(trained: Trained) -> None:
    client = MlflowClient(trained.settings.tracking_uri)
    files = {a.path for a in client.list_artifacts(trained.first.run_id, "model/artifacts")}
    assert files == {"model/artifacts/adapter", "model/artifacts/tokenizer", "model/artifacts/assistant.json"}
    local = Path(client.download_artifacts(trained.first.run_id, "model/artifacts/assistant.json"))
    meta = json.loads(local.read_text())
    assert meta["base"]["path"] == trained.config.base_model
    assert len(meta["base"]["content_hash"]) == 64
    assert meta["serving"]["max_new_tokens"] == trained.config.max_new_tokens


def test_versions_are_gated_against_the_champion(trained: Trained) -> None:
    assert (trained.first.version, trained.first.outcome) == ("1", "champion")
    assert trained.second.version == "2"
    assert trained.second.outcome in {"champion", "challenger"}
    assert "champion" in (trained.second.reason or "")


def test_the_champion_serves_and_evaluates(trained: Trained) -> None:
    served = load_assistant(trained.settings, "champion")
    reply = served.model.serve({"messages": [{"role": "user", "content": "my number is 9876543210"}]})
    assert set(reply) == {"reply", "tool"}
    assert "9876543210" not in reply["reply"]
    test_file = trained.settings.home / "few.jsonl"
    lines = (DATA_DIR / "test.jsonl").read_text().splitlines()[:3]
    test_file.write_text("\n".join(lines) + "\n")
    metrics = evaluate(trained.settings, test_file, "champion")
    assert metrics["examples"] == 3
    assert metrics["version"] == served.version
    assert metrics["perplexity"] > 1


def test_a_failing_bar_is_rejected(settings: Settings, tiny_config: AssistantConfig) -> None:
    config = replace(tiny_config, eval_examples=2, val_examples=2, max_new_tokens=4)
    report = train(settings, TrainOptions(quick=True), config=config)
    assert report.outcome == "rejected"  # a random tiny model is far above perplexity 50


def test_benchmark_datasets_are_refused(settings: Settings, tiny_config: AssistantConfig) -> None:
    with pytest.raises(DataError, match="its own data set"):
        train(settings, TrainOptions(quick=True, dataset="banking77"), config=tiny_config)
