"""Intent metrics on any labelled file; the out-of-scope threshold; the run's report figures.

Metrics (ARCHITECTURE.md, "Labelled file formats"): ``accuracy``, ``macro_f1`` (over the labels
present in the file), ``oos_recall`` (when the file has ``out_of_scope`` rows) and
``per_intent`` (precision, recall, F1 and support of each label).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import classification_report, confusion_matrix, precision_recall_fscore_support

from nivesh_ml.config import Settings
from nivesh_ml.log import get_logger
from nivesh_ml.models.intent.config import MODEL_KEY, OUT_OF_SCOPE
from nivesh_ml.models.intent.data import load_labelled
from nivesh_ml.tracking.loading import load_model

__all__ = [
    "Threshold",
    "calibrate_threshold",
    "classification_metrics",
    "confusion_figure",
    "evaluate",
    "predict_intents",
    "report_markdown",
    "with_fallback",
]

log = get_logger(__name__)


@dataclass(frozen=True)
class Threshold:
    """The calibrated fallback threshold and what it gave on the calibration data."""

    value: float
    accuracy: float
    oos_recall: float


def classification_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], out_of_scope: str | None = OUT_OF_SCOPE
) -> dict[str, Any]:
    """accuracy, macro_f1, oos_recall (if the data has out-of-scope rows) and per_intent."""
    truth, predicted = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    labels = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    metrics: dict[str, Any] = {
        "accuracy": float(np.mean(truth == predicted)),
        "macro_f1": float(np.mean(f1)),
    }
    if out_of_scope is not None and out_of_scope in labels:
        metrics["oos_recall"] = float(np.mean(predicted[truth == out_of_scope] == out_of_scope))
    metrics["per_intent"] = {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    return metrics


def with_fallback(
    probs: np.ndarray, labels: Sequence[str], threshold: float, out_of_scope: str | None
) -> list[str]:
    """The served decision for each row: the argmax, or the fallback under ``threshold``."""
    best = probs.argmax(axis=1)
    chosen = [labels[int(i)] for i in best]
    if out_of_scope is None:
        return chosen
    top = probs.max(axis=1)
    return [out_of_scope if p < threshold else label for label, p in zip(chosen, top, strict=True)]


def calibrate_threshold(
    probs: np.ndarray, y_true: Sequence[str], labels: Sequence[str], *, min_oos_recall: float
) -> Threshold:
    """The threshold with the best accuracy among those keeping out-of-scope recall >= the floor.

    Thresholds between two neighbouring top probabilities all give the same decisions; the
    midpoint of the best such interval is returned (the lowest one on a tie in accuracy).
    """
    truth = np.asarray(y_true, dtype=object)
    edges = np.unique(np.concatenate([[0.0], probs.max(axis=1), [1.0]]))
    best: Threshold | None = None
    for low, high in itertools.pairwise(edges):
        candidate = float((low + high) / 2)
        predicted = np.asarray(with_fallback(probs, labels, candidate, OUT_OF_SCOPE), dtype=object)
        oos = truth == OUT_OF_SCOPE
        recall = float(np.mean(predicted[oos] == OUT_OF_SCOPE)) if oos.any() else 1.0
        accuracy = float(np.mean(predicted == truth))
        if recall >= min_oos_recall and (best is None or accuracy > best.accuracy):
            best = Threshold(candidate, accuracy, recall)
    if best is None:  # unreachable: a threshold above every probability sends everything to fallback
        raise ValueError("no threshold reaches the out-of-scope recall floor")
    return best


def predict_intents(pyfunc: Any, texts: Sequence[str]) -> list[str]:
    """Intents from any registered intent pyfunc (the champion, a candidate) for ``texts``."""
    frame = pyfunc.predict(pd.DataFrame({"text": list(texts)}))
    return [str(intent) for intent in frame["intent"]]


def confusion_figure(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> Figure:
    """A confusion-matrix heat map (rows: truth, columns: prediction) with counts."""
    matrix = confusion_matrix(list(y_true), list(y_pred), labels=list(labels))
    size = max(6.0, 0.45 * len(labels))
    figure = Figure(figsize=(size + 2, size))
    axes = figure.add_subplot()
    axes.imshow(matrix, cmap="Blues")
    ticks = range(len(labels))
    axes.set_xticks(ticks, labels=list(labels), rotation=90, fontsize=7)
    axes.set_yticks(ticks, labels=list(labels), fontsize=7)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if len(labels) <= 30:  # numbers stay readable up to about 30 classes
        for (row, column), count in np.ndenumerate(matrix):
            if count:
                colour = "white" if count > matrix.max() / 2 else "black"
                axes.text(column, row, str(count), ha="center", va="center", fontsize=6, color=colour)
    figure.tight_layout()
    return figure


def report_markdown(title: str, metrics: dict[str, Any], y_true: Sequence[str], y_pred: Sequence[str]) -> str:
    """The headline metrics, a per-intent table and sklearn's text report, as markdown."""
    lines = [f"# {title}", ""]
    lines += [f"- **{name}**: {value:.4f}" for name, value in metrics.items() if isinstance(value, float)]
    lines += ["", "| intent | precision | recall | f1 | support |", "|---|---:|---:|---:|---:|"]
    for label, row in metrics["per_intent"].items():
        lines.append(
            f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |"
        )
    text = classification_report(list(y_true), list(y_pred), digits=4, zero_division=0)
    return "\n".join([*lines, "", "```", str(text), "```", ""])


def evaluate(settings: Settings, data: Path, alias: str = "champion") -> dict[str, Any]:
    """Score the intent version behind ``alias`` on a labelled JSONL or CSV file."""
    frame = load_labelled(data)
    loaded = load_model(settings, MODEL_KEY, alias)
    predicted = predict_intents(loaded.pyfunc, list(frame["text"]))
    metrics = classification_metrics(list(frame["intent"]), predicted)
    log.info("evaluated", extra={"model": MODEL_KEY, "version": loaded.version, "rows": len(frame)})
    return {"model_version": loaded.version, "rows": len(frame), **metrics}
