"""One intent model per test session, trained through the real pipeline and registered.

The same fixture (same folder, same marker file) lives in tests/model/test_intent_behaviour.py,
so whichever runs first trains and the other reuses it: two epochs on the full training split,
max_len 32 (about two minutes on two idle cores; one epoch left too many near-ties for the
ONNX int8 agreement and the out-of-scope behaviour tests to be meaningful).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from nivesh_ml.config import QualityBar, Settings, load_settings
from nivesh_ml.models.common import TrainOptions
from nivesh_ml.models.intent.config import IntentConfig
from nivesh_ml.models.intent.train import train

SESSION_CONFIG = {"epochs": 2, "max_len": 32}


@dataclass(frozen=True)
class SessionModel:
    """The session's registered intent model: its settings, bundle folder and report."""

    settings: Settings
    bundle: Path
    metrics: dict[str, float]
    version: str


@pytest.fixture(scope="session")
def session_model(tmp_path_factory: pytest.TempPathFactory) -> SessionModel:
    """Train (or reuse) the session's intent model; a low bar makes it champion."""
    folder = tmp_path_factory.getbasetemp() / "intent-session"
    settings = load_settings(
        _env_file=None,
        home=folder / "var",
        quality_bars={"intent": QualityBar(metric="accuracy", threshold=0.5)},
    )
    marker = folder / "report.json"
    if not marker.is_file():
        report = train(settings, TrainOptions(), config=IntentConfig(**SESSION_CONFIG))
        marker.write_text(
            json.dumps(
                {"bundle": report.extra["bundle"], "metrics": report.metrics, "version": report.version}
            )
        )
    saved = json.loads(marker.read_text())
    return SessionModel(settings, Path(saved["bundle"]), saved["metrics"], saved["version"])
