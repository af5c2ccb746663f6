"""What every model's training and evaluation entry points take and return, so the CLI, the
retraining pipeline and a notebook call all six the same way.

Each ``nivesh_ml.models.<package>.train`` module exposes ``train(settings, options) -> TrainReport``
and each ``...evaluate`` module ``evaluate(settings, data, alias) -> dict`` (a flat-ish JSON-able
dict of metrics). :data:`PACKAGES` maps the CLI's model names to the packages.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from nivesh_ml.config import Settings
from nivesh_ml.errors import NiveshError
from nivesh_ml.tracking.store import MODEL_KEYS

__all__ = ["PACKAGES", "TrainOptions", "TrainReport", "evaluator", "trainer"]

# CLI model name -> package under nivesh_ml.models
PACKAGES: dict[str, str] = {
    "intent": "intent",
    "ner": "ner",
    "spending": "spending",
    "anomaly": "anomaly",
    "credit-risk": "credit_risk",
    "assistant": "assistant",
}
assert tuple(PACKAGES) == MODEL_KEYS  # nosec B101  # import-time consistency check


@dataclass(frozen=True)
class TrainOptions:
    """How to train: ``quick`` (few steps, for tests and smoke runs), which data set, where it lives."""

    quick: bool = False
    # "nivesh" (the synthetic data) or a public benchmark the model supports (banking77, taiwan, ...)
    dataset: str = "nivesh"
    data_dir: Path | None = None  # default: settings.datasets_dir / <data set folder>
    seed: int = 42
    register: bool = True  # benchmark runs on public data log a run but register nothing
    # The `nivesh-ml up` budget: a model whose full recipe takes more than a few minutes on two
    # cores trains a shorter one: the assistant (60 LoRA steps), spending (3 backtest origins),
    # credit risk (20 Optuna trials). `nivesh-ml train MODEL` runs the full recipes.
    fast: bool = False
    backend: str = "local"  # the assistant only: "local" (LoRA here) or "vertex" (Gemini tuning)
    # With ``quick``: the quick recipe on the home's data set instead of a small one generated in
    # memory. Retraining sets it, so a quick retrain still learns from the days ingested since.
    home_data: bool = False
    # Outcomes collected from /feedback (a folder of `nivesh-ml labels export`), joined to the
    # training data by the models that learn from them (credit risk); retraining passes the newest.
    feedback_labels: Path | None = None


@dataclass(frozen=True)
class TrainReport:
    """What a training run produced."""

    model: str
    run_id: str
    metrics: dict[str, float]
    version: str | None = None
    outcome: str | None = None  # the gate's: champion, challenger or rejected
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Trainer = Callable[[Settings, TrainOptions], TrainReport]
Evaluator = Callable[[Settings, Path, str], dict[str, Any]]


def _module(model: str, stage: str) -> Any:
    if model not in PACKAGES:
        raise NiveshError(f"unknown model {model!r}; choose one of {', '.join(PACKAGES)}")
    try:
        return importlib.import_module(f"nivesh_ml.models.{PACKAGES[model]}.{stage}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"nivesh_ml.models.{PACKAGES[model]}"):
            raise NiveshError(f"model {model!r} is not built yet in this version of nivesh-ml") from None
        raise


def trainer(model: str) -> Trainer:
    """The ``train`` function of ``model``."""
    return cast(Trainer, _module(model, "train").train)


def evaluator(model: str) -> Evaluator:
    """The ``evaluate`` function of ``model``."""
    return cast(Evaluator, _module(model, "evaluate").evaluate)
