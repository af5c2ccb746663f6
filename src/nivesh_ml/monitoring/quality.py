"""Live quality: the outcomes that came back through ``POST /feedback``, scored against the predictions.

A prediction's outcome is stored in ``model_prediction.actual_outcome`` (joined by ``prediction_id``
when the client sends it). :func:`live_quality` reads the predictions of one model made in
``[as_of - window, as_of)`` that have an outcome, and scores them per model version:

==============  ====================================  ==============================================
model           ``actual`` that counts                metrics
==============  ====================================  ==============================================
intent          ``"check_balance"`` or                ``accuracy``
                ``{"intent": "check_balance"}``
ner             ``[[start, end, LABEL], ...]``, the   ``precision``, ``recall``, ``f1`` (exact span
                same as ``{"start", "end", "label"}``  and label, micro, as ``models/ner/evaluate.py``)
                objects, or ``{"entities": [...]}``
spending        ``[{"month", "category"?, "amount"}]``  ``wape``: sum of absolute errors over the sum
                or ``{"2025-04": 41000.0, ...}``      of actuals, over the forecast points matched
anomaly         ``true``/``false``, 0/1, or           ``precision``, ``recall``, ``anomaly_rate``
                ``{"is_anomaly": ...}``
credit-risk     0/1 (1 = defaulted), ``true``/``false``, ``auc``, ``default_rate``, ``mean_pd``
                or ``{"default": ...}``
assistant       ``"get_balance"`` or ``{"tool": ...}``   ``tool_accuracy``
==============  ====================================  ==============================================

An outcome that does not parse (or a logged prediction without the field it is scored on) is
counted as ``unusable``, never raised. A metric that is undefined on the data (an AUC with one
class, a precision with no flagged transaction) is left out rather than reported as 0.
:class:`~nivesh_ml.monitoring.quality_metrics.QualityCollector` exports the same numbers as
Prometheus gauges for the model server.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row

from nivesh_ml.config import Settings
from nivesh_ml.db import repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.errors import DataError
from nivesh_ml.monitoring.window import parse_window
from nivesh_ml.tracking.store import MODEL_KEYS, registered_name

__all__ = [
    "SCORERS",
    "QualityReport",
    "VersionQuality",
    "feedback_rows",
    "live_quality",
    "parse_window",
]

Pair = tuple[Any, Any]  # (what the model predicted, the actual outcome), both normalised


@dataclass(frozen=True)
class Scorer:
    """How one model's feedback is scored: ``pair`` reads a (predicted, actual) pair from the logged
    prediction and the raw outcome (None when either does not parse); ``score`` turns pairs into metrics."""

    pair: Callable[[Mapping[str, Any], Any], Pair | None]
    score: Callable[[Sequence[Pair]], dict[str, float]]


@dataclass(frozen=True)
class VersionQuality:
    """One version's live quality: predictions with feedback in the window, how many could be
    scored, and the metrics over those."""

    version: str
    feedback: int
    unusable: int
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityReport:
    """Live quality of one model, per version, over ``[since, as_of)``."""

    model: str
    as_of: str
    since: str
    window: str
    versions: list[VersionQuality]


# --- reading outcomes loosely --------------------------------------------------------------


def _label(value: Any, key: str) -> str | None:
    if isinstance(value, Mapping):
        value = value.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


_TRUE, _FALSE = {"1", "true", "yes"}, {"0", "false", "no"}


def binary(value: Any, keys: Sequence[str] = ()) -> int | None:
    """A yes/no written as a bool, 0/1, or ``true``/``false``/``yes``/``no`` (under the first of
    ``keys`` a mapping holds) as 0 or 1; None for anything else."""
    if isinstance(value, Mapping):
        found = [value[key] for key in keys if key in value]
        return binary(found[0]) if found else None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return int(value.strip().lower() in _TRUE)
    return None


Span = tuple[int, int, str]


def spans(value: Any) -> list[Span] | None:
    """Entities as (start, end, LABEL): ``[[s, e, L]]``, ``[{"start", "end", "label"}]`` or
    ``{"entities": [...]}``; None if any entity is malformed."""
    if isinstance(value, Mapping):
        value = value.get("entities")
    if not isinstance(value, list):
        return None
    found: list[Span] = []
    for item in value:
        if isinstance(item, Mapping):
            item = [item.get("start"), item.get("end"), item.get("label")]
        if not (isinstance(item, list | tuple) and len(item) == 3):
            return None
        start, end, label = item
        if not (_whole(start) and _whole(end) and isinstance(label, str) and 0 <= start < end):
            return None
        found.append((int(start), int(end), label))
    return sorted(found)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


Point = tuple[str, str | None]  # (month, category); no category: the month's total (or only) point


def _actual_points(value: Any) -> dict[Point, float] | None:
    if isinstance(value, Mapping) and isinstance(value.get("actual"), list):
        value = value["actual"]
    points: dict[Point, Any] = {}
    if isinstance(value, Mapping):  # {"2025-04": 41000.0} or {"2025-04": {"groceries": 9000.0}}
        for month, amount in value.items():
            by_category = amount if isinstance(amount, Mapping) else {None: amount}
            for category, number in by_category.items():
                points[(str(month), category)] = number
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, Mapping) or not isinstance(item.get("month"), str):
                return None
            points[(item["month"], item.get("category"))] = item.get("amount")
    parsed = {point: _number(amount) for point, amount in points.items()}
    if not parsed or any(amount is None or amount < 0 for amount in parsed.values()):
        return None
    return {point: float(amount) for point, amount in parsed.items() if amount is not None}


def matched_points(prediction: Mapping[str, Any], actual: Any) -> list[tuple[str, str, float, float]] | None:
    """(month, category, actual, forecast) for each actual point the forecast has; None if none match."""
    truth = _actual_points(actual)
    forecast = prediction.get("forecast")
    if truth is None or not isinstance(forecast, list):
        return None
    predicted: dict[tuple[str, str], float] = {}
    for point in forecast:
        if isinstance(point, Mapping) and _number(point.get("amount")) is not None:
            predicted[(str(point.get("month")), str(point.get("category")))] = float(point["amount"])
    matched = []
    for (month, category), amount in truth.items():
        key = (month, category) if category is not None else _month_point(predicted, month)
        if key is not None and key in predicted:
            matched.append((key[0], key[1], amount, predicted[key]))
    return matched or None


def _month_point(predicted: Mapping[tuple[str, str], float], month: str) -> tuple[str, str] | None:
    in_month = [key for key in predicted if key[0] == month]
    if (month, "total") in predicted:
        return (month, "total")
    return in_month[0] if len(in_month) == 1 else None


# --- pairs and metrics, model by model ----------------------------------------------------


def _labels_pair(field_name: str, actual_key: str) -> Callable[[Mapping[str, Any], Any], Pair | None]:
    def pair(prediction: Mapping[str, Any], actual: Any) -> Pair | None:
        predicted, truth = _label(prediction.get(field_name), field_name), _label(actual, actual_key)
        return None if predicted is None or truth is None else (predicted, truth)

    return pair


def _accuracy(name: str) -> Callable[[Sequence[Pair]], dict[str, float]]:
    def score(pairs: Sequence[Pair]) -> dict[str, float]:
        return {name: sum(p == t for p, t in pairs) / len(pairs)} if pairs else {}

    return score


def _ner_pair(prediction: Mapping[str, Any], actual: Any) -> Pair | None:
    predicted, truth = spans(prediction.get("entities")), spans(actual)
    return None if predicted is None or truth is None else (predicted, truth)


def _ner_score(pairs: Sequence[Pair]) -> dict[str, float]:
    from nivesh_ml.models.ner.evaluate import score_spans  # spaCy: only when NER feedback is scored

    if not pairs:
        return {}
    metrics = score_spans([t for _, t in pairs], [p for p, _ in pairs])
    return {key: float(metrics[key]) for key in ("precision", "recall", "f1")}


def _spending_pair(prediction: Mapping[str, Any], actual: Any) -> Pair | None:
    matched = matched_points(prediction, actual)
    return None if matched is None else ([m[3] for m in matched], [m[2] for m in matched])


def _wape(pairs: Sequence[Pair]) -> dict[str, float]:
    errors = sum(abs(a - f) for forecast, truth in pairs for f, a in zip(forecast, truth, strict=True))
    total = sum(abs(a) for _, truth in pairs for a in truth)
    return {"wape": errors / total} if total else {}


def _anomaly_pair(prediction: Mapping[str, Any], actual: Any) -> Pair | None:
    flagged = prediction.get("is_anomaly")
    truth = binary(actual, ("is_anomaly", "anomaly", "fraud"))
    return None if not isinstance(flagged, bool) or truth is None else (int(flagged), truth)


def _anomaly_score(pairs: Sequence[Pair]) -> dict[str, float]:
    tp = sum(p and t for p, t in pairs)
    flagged, actual = sum(p for p, _ in pairs), sum(t for _, t in pairs)
    metrics = {"anomaly_rate": actual / len(pairs)} if pairs else {}
    if flagged:
        metrics["precision"] = tp / flagged
    if actual:
        metrics["recall"] = tp / actual
    return metrics


def _credit_pair(prediction: Mapping[str, Any], actual: Any) -> Pair | None:
    probability = _number(prediction.get("probability_of_default"))
    truth = binary(actual, ("default", "defaulted", "default_12m"))
    return None if probability is None or truth is None else (probability, truth)


def _credit_score(pairs: Sequence[Pair]) -> dict[str, float]:
    if not pairs:
        return {}
    metrics = {
        "default_rate": sum(t for _, t in pairs) / len(pairs),
        "mean_pd": sum(p for p, _ in pairs) / len(pairs),
    }
    auc = rank_auc([p for p, _ in pairs], [t for _, t in pairs])
    return metrics if auc is None else {"auc": auc, **metrics}


def rank_auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """ROC AUC as the share of (defaulted, repaid) pairs ranked right, ties counting half (Mann-Whitney);
    None with a single class."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            ranks[i] = (start + end) / 2 + 1  # the average rank of a run of ties
        start = end + 1
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    rank_sum = sum(rank for rank, label in zip(ranks, labels, strict=True) if label)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


SCORERS: dict[str, Scorer] = {
    "intent": Scorer(_labels_pair("intent", "intent"), _accuracy("accuracy")),
    "ner": Scorer(_ner_pair, _ner_score),
    "spending": Scorer(_spending_pair, _wape),
    "anomaly": Scorer(_anomaly_pair, _anomaly_score),
    "credit-risk": Scorer(_credit_pair, _credit_score),
    "assistant": Scorer(_labels_pair("tool", "tool"), _accuracy("tool_accuracy")),
}
assert tuple(SCORERS) == MODEL_KEYS  # nosec B101  # import-time consistency check


# --- the app DB ---------------------------------------------------------------------------


def feedback_rows(
    settings: Settings, models: Sequence[str], since: datetime, until: datetime, *, with_input: bool = False
) -> list[Row[Any]]:
    """Predictions of ``models`` made in ``[since, until)`` that have an outcome, oldest first
    (:func:`~nivesh_ml.db.repository.feedback_between`)."""
    names = [registered_name(model) for model in models]
    with session_scope(app_engine(settings)) as session:
        return repository.feedback_between(session, names, since, until, with_input=with_input)


def score_versions(model: str, rows: Sequence[Row[Any]]) -> list[VersionQuality]:
    """Each version's quality from its rows of :func:`feedback_rows`, versions in numeric order."""
    scorer = SCORERS[model]
    by_version: dict[str, list[Pair | None]] = {}
    for row in rows:
        prediction = row.prediction if isinstance(row.prediction, Mapping) else {}
        by_version.setdefault(str(row.version), []).append(scorer.pair(prediction, row.actual_outcome))
    return [
        VersionQuality(
            version=version,
            feedback=len(pairs),
            unusable=sum(pair is None for pair in pairs),
            metrics=scorer.score([pair for pair in pairs if pair is not None]),
        )
        for version, pairs in sorted(by_version.items(), key=lambda item: _version_order(item[0]))
    ]


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 62, version)


def live_quality(settings: Settings, model: str, *, as_of: datetime, window: timedelta) -> QualityReport:
    """Live quality of ``model`` per version, over the predictions made in ``[as_of - window, as_of)``
    that have feedback (an unknown model is a one-line error)."""
    if model not in SCORERS:
        raise DataError(f"unknown model {model!r}; choose one of {', '.join(SCORERS)}")
    if as_of.tzinfo is None:
        raise DataError(f"as_of {as_of!r} has no time zone")
    since = as_of - window
    versions = score_versions(model, feedback_rows(settings, [model], since, as_of))
    return QualityReport(
        model=model,
        as_of=as_of.isoformat(timespec="seconds"),
        since=since.isoformat(timespec="seconds"),
        window=str(window),
        versions=versions,
    )
