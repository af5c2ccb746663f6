"""Each model's drift space: one logged prediction as one flat row of a few meaningful columns.

The server logs every prediction as ``input_data`` (the request body, plus the user's online
features by view on the routes that read them) and ``prediction`` (the answer), PII masked
(``model_prediction``). A drift check compares the rows of the recent predictions with the
rows of the champion's reference. Both sides come out of the same function of
:data:`DRIFT_ROWS`: the check calls it on what the server logged, and each trainer calls it (through
:func:`reference_frame`) on held-out requests and the trained model's own answers to them, masked
as the log masks them, then logs the frame with ``TrainingRun.log_reference``.

=============  ==============================================================================
model          columns
=============  ==============================================================================
credit-risk    the ``user_financial_profile`` features (read online, or sent in the request)
spending       ``spend_<category>_<days>d`` of ``spending_patterns``: what the forecaster reads
anomaly        the debit (``amount``, IST ``hour``, ``category``, ``channel``, ``context_debits``
               sent with it), the user's usual from ``transaction_stats`` (:data:`ANOMALY_STATS`)
               and the answer (``score``, ``flagged``); credits are not scored, so not compared;
               ``_season`` (turn or middle of the month) picks the reference rows to compare with
intent         :func:`text_stats` of the query, the ``intent`` answered and its ``confidence``
ner            :func:`text_stats` of the text, ``entities_<label>``: entities found per label
assistant      :func:`text_stats` of the last user message, the ``tool`` called (``none``: a reply)
=============  ==============================================================================
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from nivesh_ml.features.definitions import SPEND_CATEGORIES
from nivesh_ml.models.anomaly.model import ist
from nivesh_ml.models.ner.config import LABELS as NER_LABELS
from nivesh_ml.models.spending.config import SpendingConfig
from nivesh_ml.pii import redact_obj

__all__ = [
    "ANOMALY_STATS",
    "ANSWER_COLUMNS",
    "DRIFT_ROWS",
    "REFERENCE_SAMPLE",
    "SEASON",
    "SPENDING_COLUMNS",
    "DriftRow",
    "Exchange",
    "drift_frame",
    "reference_frame",
    "reference_sample",
    "text_stats",
]

DriftRow = Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]
Exchange = tuple[Mapping[str, Any], Mapping[str, Any]]  # a request and the model's answer to it

# A column a row may carry to say which part of a cycle it comes from (not compared): a check
# compares the traffic with the reference rows of the same parts (monitoring.drift).
SEASON = "_season"
REFERENCE_SAMPLE = 500  # held-out rows a reference is made of: enough for the tests of drift, cheap
SPENDING_COLUMNS: tuple[str, ...] = tuple(
    f"spend_{category}_{days}d" for category in SPEND_CATEGORIES for days in SpendingConfig().windows_days
)
# The user's usual, from their transaction_stats row: how much and how often they pay, and when.
ANOMALY_STATS: tuple[str, ...] = (
    "debit_count_365d",
    "debit_amount_mean_365d",
    "debit_amount_p99_365d",
    "night_share_365d",
)
# The columns that hold what the model decided for the user (prediction drift): when one of them
# drifts, the check is a drift whatever the share of drifted inputs (monitoring.drift).
ANSWER_COLUMNS: dict[str, tuple[str, ...]] = {
    "anomaly": ("flagged",),
    "intent": ("intent",),
    "assistant": ("tool",),
}
_CURRENCY = re.compile(r"₹|\b(?:rs|inr|rupees?)(?![a-z])", re.IGNORECASE)
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}  # as the log writes them
_NO_TOOL = {"", "no_tool", "none"}


def text_stats(text: str) -> dict[str, Any]:
    """Characters, words, the share of digits and of upper-case letters, and a currency marker."""
    letters = sum(char.isalpha() for char in text)
    return {
        "text_chars": len(text),
        "text_words": len(text.split()),
        "text_digit_share": sum(char.isdigit() for char in text) / len(text) if text else 0.0,
        "text_upper_share": sum(char.isupper() for char in text) / letters if letters else 0.0,
        "text_currency": bool(_CURRENCY.search(text)),
    }


def credit_risk_row(request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """The profile features the model read: online by view, or sent in the request."""
    return _features(request)


def spending_row(request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """The user's spend per category and window, as the forecaster read it."""
    features = _features(request)
    return {name: _number(features.get(name)) for name in SPENDING_COLUMNS} if features else {}


def anomaly_row(request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """The debit, what was sent with it, the user's usual and the verdict; nothing for a credit."""
    transaction = request.get("transaction")
    if not isinstance(transaction, Mapping) or transaction.get("direction", "debit") != "debit":
        return {}
    context = request.get("context")
    stats = _features(request)
    return {
        "amount": _number(transaction.get("amount")),
        "hour": _hour(transaction.get("timestamp")),
        "category": str(transaction.get("category")),
        "channel": str(transaction.get("channel")),
        "context_debits": _debits(context if isinstance(context, list) else []),
        **{name: _number(stats.get(name)) for name in ANOMALY_STATS},
        "score": _number(answer.get("score")),
        "flagged": answer.get("is_anomaly") is True,
        SEASON: _season(transaction.get("timestamp")),
    }


def intent_row(request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """The query's text statistics, the intent answered and how sure the model was."""
    query = request.get("query")
    if not isinstance(query, str):
        return {}
    return {
        **text_stats(query),
        "intent": str(answer.get("intent")),
        "confidence": _number(answer.get("confidence")),
    }


def ner_row(request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """The text's statistics and how many entities of each label were found in it."""
    text = request.get("text")
    if not isinstance(text, str):
        return {}
    entities = answer.get("entities")
    labels = [entity.get("label") for entity in entities or [] if isinstance(entity, Mapping)]
    return {**text_stats(text), **{f"entities_{label}": labels.count(label) for label in NER_LABELS}}


def assistant_row(request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """The last user message's statistics (the turn the assistant answers) and the tool it called."""
    messages = request.get("messages")
    said = [
        message.get("content")
        for message in messages or []
        if isinstance(message, Mapping) and message.get("role") == "user"
    ]
    if not said or not isinstance(said[-1], str):
        return {}
    tool = answer.get("tool")
    return {**text_stats(said[-1]), "tool": "none" if tool is None or tool in _NO_TOOL else str(tool)}


DRIFT_ROWS: dict[str, DriftRow] = {
    "intent": intent_row,
    "ner": ner_row,
    "spending": spending_row,
    "anomaly": anomaly_row,
    "credit-risk": credit_risk_row,
    "assistant": assistant_row,
}


def drift_frame(model: str, logged: Iterable[tuple[Any, Any]]) -> pd.DataFrame:
    """One row per logged ``(input_data, prediction)``; predictions ``model``'s row leaves empty are
    left out (a request it cannot read, a credit for anomaly)."""
    row_of = DRIFT_ROWS[model]
    rows = [
        row_of(request, answer if isinstance(answer, Mapping) else {})
        for request, answer in logged
        if isinstance(request, Mapping)
    ]
    return pd.DataFrame([row for row in rows if row])


def reference_frame(model: str, served: Iterable[Exchange]) -> pd.DataFrame:
    """A trainer's drift reference: :func:`drift_frame` of requests and the model's answers, PII
    masked as the prediction log masks them (so a masked phone counts as the log's ``[PHONE]``)."""
    return drift_frame(model, ((redact_obj(dict(req)), redact_obj(dict(ans))) for req, ans in served))


def reference_sample(rows: int, size: int = REFERENCE_SAMPLE, seed: int = 0) -> np.ndarray:
    """Positions (sorted) of a seeded sample of at most ``size`` of ``rows`` held-out rows."""
    if rows <= size:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size=size, replace=False))


def _features(request: Mapping[str, Any]) -> dict[str, Any]:
    """The logged features as one row of scalars: online rows come by view
    (``{"user_financial_profile:v1": {...}}``), older logs may hold them flat; lists are left out."""
    features = request.get("features")
    if not isinstance(features, Mapping):
        return {}
    flat: dict[str, Any] = {}
    for key, value in features.items():
        if isinstance(value, Mapping):
            flat.update(value)
        else:
            flat[key] = value
    return {
        str(name): _NON_FINITE.get(value, value) if isinstance(value, str) else value
        for name, value in flat.items()
        if value is None or isinstance(value, str | numbers.Number | np.bool_)
    }


def _number(value: Any) -> float:
    """A logged number as a float; NaN for a missing or unreadable one."""
    if isinstance(value, str):
        return _NON_FINITE.get(value, math.nan)
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return math.nan
    return float(value)


def _season(timestamp: Any) -> str:
    """Where in the month the debit falls (IST): ``turn`` (the 28th to the 5th: salary, rent, EMIs,
    bills) or ``mid``; ``unknown`` if unreadable."""
    try:
        day = ist(timestamp).day
    except (TypeError, ValueError):
        return "unknown"
    return "turn" if day >= 28 or day <= 5 else "mid"


def _hour(timestamp: Any) -> float:
    """The hour of the day in India (IST wall clock), as the detector reads it; NaN if unreadable."""
    try:
        return float(ist(timestamp).hour)
    except (TypeError, ValueError):
        return math.nan


def _debits(context: list[Any]) -> int:
    return sum(
        1 for item in context if isinstance(item, Mapping) and item.get("direction", "debit") == "debit"
    )
