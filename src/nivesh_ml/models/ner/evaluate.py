"""NER metrics: precision, recall and F1 of exact spans with their label, overall and per entity.

A predicted entity counts only if its start, end and label all equal a gold entity's (CoNLL's
exact match): ``on the 5th`` for ``the 5th`` is a false positive and a false negative.

``nivesh-ml evaluate ner --data FILE [--alias champion] [--json]`` scores a registered version on
any labelled JSONL file (format in ARCHITECTURE.md); :func:`score_spans` is the pure function
every caller (training, the NLU++ check, the tests) shares.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nivesh_ml.config import Settings
from nivesh_ml.data.public import NerExample, Span
from nivesh_ml.models.ner.config import LABELS
from nivesh_ml.models.ner.data import read_examples
from nivesh_ml.models.ner.model import load_ner_model

__all__ = ["entity_table", "evaluate", "score_examples", "score_spans"]


def score_spans(
    gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]], labels: Iterable[str] | None = None
) -> dict[str, Any]:
    """``precision``, ``recall``, ``f1`` (micro, exact span and label) and ``per_entity``.

    ``gold[i]`` and ``predicted[i]`` are the spans of the i-th text. ``labels`` restricts the
    count to those labels (a data set that annotates only some of ours); ``per_entity`` lists
    each label with its ``precision``, ``recall``, ``f1``, ``support`` (gold count), ``tp``,
    ``fp`` and ``fn``.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold texts but {len(predicted)} predicted")
    keep = set(labels) if labels is not None else None
    counts: dict[str, list[int]] = {}
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        truth = {tuple(s) for s in gold_spans if keep is None or s[2] in keep}
        guess = {tuple(s) for s in predicted_spans if keep is None or s[2] in keep}
        for label in {str(s[2]) for s in truth | guess}:
            row = counts.setdefault(label, [0, 0, 0])
            row[0] += sum(1 for s in truth & guess if s[2] == label)
            row[1] += sum(1 for s in guess - truth if s[2] == label)
            row[2] += sum(1 for s in truth - guess if s[2] == label)
    tp, fp, fn = (sum(row[i] for row in counts.values()) for i in range(3))
    return {**_prf(tp, fp, fn), "per_entity": {label: _row(*counts[label]) for label in _ordered(counts)}}


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _row(tp: int, fp: int, fn: int) -> dict[str, Any]:
    return {**_prf(tp, fp, fn), "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}


def _ordered(counts: dict[str, list[int]]) -> list[str]:
    """Our labels in guideline order, then any other label alphabetically."""
    return [label for label in LABELS if label in counts] + sorted(set(counts) - set(LABELS))


def score_examples(
    examples: Sequence[NerExample], predicted: Sequence[Iterable[Span]], labels: Iterable[str] | None = None
) -> dict[str, Any]:
    """:func:`score_spans` of predictions against labelled examples."""
    return score_spans([example.entities for example in examples], predicted, labels)


def entity_table(metrics: dict[str, Any]) -> str:
    """The per-entity scores as a markdown table (logged with the run, printed in reports)."""
    lines = ["| entity | precision | recall | f1 | support |", "|---|---|---|---|---|"]
    rows = {**metrics["per_entity"], "overall": {**metrics, "support": _support(metrics)}}
    for label, row in rows.items():
        lines.append(
            f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['support']} |"
        )
    return "\n".join(lines) + "\n"


def _support(metrics: dict[str, Any]) -> int:
    return sum(int(row["support"]) for row in metrics["per_entity"].values())


def evaluate(settings: Settings, data: Path, alias: str = "champion") -> dict[str, Any]:
    """Score the registered version under ``alias`` on a labelled JSONL file."""
    examples = read_examples(data)
    model = load_ner_model(settings, alias)
    predicted = model.predict_spans([example.text for example in examples])
    metrics = score_examples(examples, predicted)
    return {**metrics, "sentences": len(examples), "model_version": model.model_version}
