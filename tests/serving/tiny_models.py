"""Tiny registered models for the server tests: each answers its route's documented shape.

Requests steer them: a text (query, text, last message, merchant) of ``boom ...`` raises a
RuntimeError quoting the input (a model fault, with PII in its message), ``bad`` raises
DataError (input the model cannot serve), ``shape`` answers outside the API, ``wait:PATH``
computes until the file PATH exists, or until its request is cancelled (then it writes
``PATH.cancelled`` and stops). Every answer says which tag of model served it and which
feature views it was given.

They are pickled by value (cloudpickle), so a server in another process can load them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle
import pandas as pd
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel

from nivesh_ml.cancel import current_token
from nivesh_ml.config import Settings
from nivesh_ml.errors import DataError, RequestCancelled
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.runs import start_training_run

EXAMPLE = pd.DataFrame({"x": [1.0, 2.0]})
SIGNATURE = infer_signature(EXAMPLE, EXAMPLE["x"])
EVAL_HASH = "e" * 64


def _text(request: dict[str, Any]) -> str:
    if "messages" in request:
        return str(request["messages"][-1]["content"])
    if "transaction" in request:
        return str(request["transaction"]["merchant"])
    return str(request.get("query") or request.get("text") or "")


def _intent(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "intent": "check_balance",
        "confidence": 0.91,
        "alternatives": [{"intent": "spending_query", "confidence": 0.05}],
    }


def _ner(request: dict[str, Any]) -> dict[str, Any]:
    text = request["text"]
    return {"entities": [{"text": text, "label": "NOTE", "start": 0, "end": len(text)}]}


def _spending(request: dict[str, Any]) -> dict[str, Any]:
    category = request.get("category") or "groceries"
    months = range(1, request["horizon_months"] + 1)
    points = [
        {"month": f"2025-{m:02d}", "category": category, "amount": 100.0 * m, "lower": 80.0, "upper": 130.0}
        for m in months
    ]
    return {"forecast": points}


def _anomaly(request: dict[str, Any]) -> dict[str, Any]:
    big = request["transaction"]["amount"] > 10_000
    return {
        "is_anomaly": big,
        "score": 0.9 if big else 0.1,
        "reasons": ["amount_far_above_usual"] if big else [],
    }


def _credit(request: dict[str, Any]) -> dict[str, Any]:
    return {"probability_of_default": 0.12, "risk_band": "low", "reasons": ["few_late_payments"]}


def _assistant(request: dict[str, Any]) -> dict[str, Any]:
    return {"reply": "You said: " + _text(request)}


ANSWERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "intent": _intent,
    "ner": _ner,
    "spending": _spending,
    "anomaly": _anomaly,
    "credit-risk": _credit,
    "assistant": _assistant,
}


class TinyModel(PythonModel):
    """Answers ``key``'s route; ``tag`` tells versions apart."""

    def __init__(self, key: str, tag: str = "v") -> None:
        self.key = key
        self.tag = tag

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        return model_input.iloc[:, 0]

    def serve(self, request: dict[str, Any]) -> Any:
        text = _text(request)
        if text.startswith("boom"):
            raise RuntimeError(f"cannot handle {text!r}")
        if text == "bad":
            raise DataError("this model cannot serve that input")
        if text == "shape":
            return {"unexpected": True}
        if text.startswith("wait:"):
            _wait_for(Path(text.removeprefix("wait:")))
        answer = ANSWERS[self.key](request)
        return {**answer, "served_by": self.tag, "views": sorted(request.get("features") or {})}


def _wait_for(gate: Path) -> None:
    """Work (in small steps, checking for cancellation as a real model does) until ``gate`` exists."""
    while not gate.exists():
        if current_token().cancelled:
            gate.with_suffix(".cancelled").touch()
            raise RequestCancelled(current_token().reason)
        time.sleep(0.01)


class BrokenModel(TinyModel):
    """Registers fine, fails to load (its artefact 'is missing')."""

    def load_context(self, context: Any) -> None:
        raise RuntimeError("weights file is missing")


class NoServeModel(PythonModel):
    """A pyfunc without the server's ``serve`` method."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        return model_input.iloc[:, 0]


def gate_score(settings: Settings, key: str, goodness: float) -> float:
    """A score on ``key``'s gate metric that clears its bar; higher ``goodness`` (0-1) is better."""
    bar = settings.quality_bars[key]
    if bar.higher_is_better:
        return bar.threshold + (1 - bar.threshold) * goodness
    return bar.threshold * (1 - goodness)


def register(settings: Settings, key: str, model: PythonModel, goodness: float = 0.5) -> str:
    """Log ``model`` as a new version of ``key`` and put it through the gate; returns the version."""
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # loadable by a server process
    with start_training_run(settings, key) as run:
        version = run.log_model(model, signature=SIGNATURE, input_example=EXAMPLE.head(1)).version
    metric = settings.quality_bars[key].metric
    apply_gate(settings, key, version, {metric: gate_score(settings, key, goodness)}, EVAL_HASH)
    return version
