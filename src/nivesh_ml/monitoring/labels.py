"""Feedback as training data: the outcomes of a window written in each model's labelled file format.

:func:`export_labels` joins each prediction that has feedback with its logged input and writes one
labelled row per usable outcome (the formats of ARCHITECTURE.md, "Labelled file formats"; each
row also names its ``prediction_id``, the ``model_version`` that answered and what it ``predicted``):

- intent: ``labels.jsonl``, ``{"text", "intent"}``;
- ner: ``labels.jsonl``, ``{"text", "entities": [[start, end, LABEL], ...]}`` (our labels only);
- credit-risk: ``labels.csv``, the logged input features and ``default_12m``;
- anomaly: ``labels.csv``, the transaction's columns and ``is_anomaly``;
- spending: ``labels.csv``, one row per matched forecast point: ``user_id, month, category, amount``
  (the actual), ``forecast`` (monthly totals, not the transactions file training reads);
- assistant: ``labels.jsonl``, ``{"messages": [..., {"role": "assistant", "content": CALL}]}``, only
  for outcomes that give the call's ``arguments`` too (a tool name alone is no training example).

The files go under ``<home>/labels/<model>/<version>/`` where ``version`` is the sha256 of the data
file (:func:`~nivesh_ml.data.versioning.file_sha256`), with ``manifest.json``; the data set is
recorded in the app DB's ``training_dataset`` table as ``nivesh-<model>-feedback``. The same
outcomes give the same version; a new outcome, a new one.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Row

from nivesh_ml.config import Settings
from nivesh_ml.data.versioning import file_sha256
from nivesh_ml.db import repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.errors import DataError
from nivesh_ml.log import get_logger
from nivesh_ml.models.ner.config import LABELS as NER_LABELS
from nivesh_ml.monitoring.quality import SCORERS, feedback_rows, matched_points, spans
from nivesh_ml.tracking.store import registered_name

__all__ = ["LABEL_FILES", "export_labels"]

log = get_logger(__name__)

Record = dict[str, Any]
LABEL_FILES = {
    "intent": "labels.jsonl",
    "ner": "labels.jsonl",
    "spending": "labels.csv",
    "anomaly": "labels.csv",
    "credit-risk": "labels.csv",
    "assistant": "labels.jsonl",
}
CREDIT_LABEL = "default_12m"  # credit_risk.config.LABEL, not imported: that package pulls in LightGBM


class Joined(NamedTuple):
    """A prediction with its feedback: what the model was asked, what it answered, what happened."""

    id: str
    version: str
    user_id: str | None
    inputs: Mapping[str, Any]
    prediction: Mapping[str, Any]
    actual_outcome: Any

    @classmethod
    def of(cls, row: Row[Any]) -> Joined:
        """From a row of :func:`~nivesh_ml.monitoring.quality.feedback_rows` read with input."""
        inputs = row.input_data if isinstance(row.input_data, Mapping) else {}
        prediction = row.prediction if isinstance(row.prediction, Mapping) else {}
        return cls(str(row.id), str(row.version), row.user_id, inputs, prediction, row.actual_outcome)


def _lineage(row: Joined, predicted: Any) -> Record:
    return {"prediction_id": row.id, "model_version": row.version, "predicted": predicted}


def _intent(row: Joined) -> list[Record]:
    pair = SCORERS["intent"].pair(row.prediction, row.actual_outcome)
    text = row.inputs.get("query")
    if pair is None or not isinstance(text, str):
        return []
    return [{"text": text, "intent": pair[1], **_lineage(row, pair[0])}]


def _ner(row: Joined) -> list[Record]:
    text, truth = row.inputs.get("text"), spans(row.actual_outcome)
    if not isinstance(text, str) or truth is None:
        return []
    if any(end > len(text) or label not in NER_LABELS for _, end, label in truth):
        return []  # the training reader refuses a span outside the text or a label of no guideline
    predicted = spans(row.prediction.get("entities"))
    return [{"text": text, "entities": [list(s) for s in truth], **_lineage(row, predicted)}]


def _features(inputs: Mapping[str, Any]) -> Record:
    """The logged features, flat: the server files them by view (``{"view:v1": {...}}``)."""
    features = inputs.get("features")
    flat: Record = {}
    for key, value in features.items() if isinstance(features, Mapping) else []:
        flat.update(value if isinstance(value, Mapping) else {key: value})
    return flat


def _credit(row: Joined) -> list[Record]:
    pair = SCORERS["credit-risk"].pair(row.prediction, row.actual_outcome)
    features = _features(row.inputs)
    if pair is None or not features:
        return []
    return [{"user_id": row.user_id, **features, CREDIT_LABEL: pair[1], **_lineage(row, pair[0])}]


def _anomaly(row: Joined) -> list[Record]:
    pair = SCORERS["anomaly"].pair(row.prediction, row.actual_outcome)
    transaction = row.inputs.get("transaction")
    if pair is None or not isinstance(transaction, Mapping):
        return []
    return [{**transaction, "is_anomaly": bool(pair[1]), **_lineage(row, bool(pair[0]))}]


def _spending(row: Joined) -> list[Record]:
    matched = matched_points(row.prediction, row.actual_outcome) or []
    user = row.inputs.get("user_id", row.user_id)
    return [
        {"user_id": user, "month": month, "category": category, "amount": actual, "forecast": forecast,
         "prediction_id": row.id, "model_version": row.version}
        for month, category, actual, forecast in matched
    ]  # fmt: skip


def _assistant(row: Joined) -> list[Record]:
    actual, messages = row.actual_outcome, row.inputs.get("messages")
    if not isinstance(actual, Mapping) or not isinstance(messages, list):
        return []
    name, arguments = actual.get("tool", actual.get("name")), actual.get("arguments")
    if not isinstance(name, str) or not isinstance(arguments, Mapping):
        return []
    call = json.dumps({"name": name, "arguments": dict(arguments)}, ensure_ascii=False)
    turns = [*messages, {"role": "assistant", "content": call}]
    return [{"messages": turns, **_lineage(row, row.prediction.get("tool"))}]


ROWS: dict[str, Callable[[Joined], list[Record]]] = {
    "intent": _intent,
    "ner": _ner,
    "spending": _spending,
    "anomaly": _anomaly,
    "credit-risk": _credit,
    "assistant": _assistant,
}


def labelled_records(model: str, rows: list[Row[Any]]) -> tuple[list[Record], int]:
    """The labelled records of ``rows`` (of :func:`feedback_rows` with input) and how many rows gave none."""
    records: list[Record] = []
    skipped = 0
    for row in rows:
        found = ROWS[model](Joined.of(row))
        records += found
        skipped += not found
    return records, skipped


def _render(name: str, records: list[Record]) -> str:
    if name.endswith(".jsonl"):
        return "".join(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records)
    columns = list(dict.fromkeys(key for record in records for key in record))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def export_labels(settings: Settings, model: str, *, as_of: datetime, window: timedelta) -> Path:
    """Write the labelled outcomes of ``[as_of - window, as_of)`` as a versioned data set; its folder."""
    if model not in ROWS:
        raise DataError(f"unknown model {model!r}; choose one of {', '.join(ROWS)}")
    since = as_of - window
    rows = feedback_rows(settings, [model], since, as_of, with_input=True)
    records, skipped = labelled_records(model, rows)
    if not records:
        raise DataError(
            f"{registered_name(model)}: no usable feedback on predictions made in [{since}, {as_of}); "
            f"{len(rows)} with feedback, none in a usable form (see docs/API.md, Feedback)"
        )
    root = settings.home / "labels" / model
    staging = root / ".incoming"
    staging.mkdir(parents=True, exist_ok=True)
    data = staging / LABEL_FILES[model]
    data.write_text(_render(data.name, records), encoding="utf-8")
    version = file_sha256(data)
    folder = root / version
    manifest = {
        "model": model, "version": version, "file": data.name, "rows": len(records),
        "predictions": len(rows), "skipped": skipped, "since": since.isoformat(),
        "as_of": as_of.isoformat(), "source": "feedback (model_prediction.actual_outcome)",
        "model_versions": sorted({str(row.version) for row in rows}),
    }  # fmt: skip
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)  # the same content exported again: replaced whole
    staging.rename(folder)
    _register(settings, model, folder / data.name, version, len(records))
    log.info("labels exported", extra={"model": model, "rows": len(records), "version": version})
    return folder


def _register(settings: Settings, model: str, path: Path, version: str, size: int) -> None:
    with session_scope(app_engine(settings)) as session:
        repository.record_training_dataset(
            session,
            dataset_name=f"{registered_name(model)}-feedback",
            model_type=model,
            data_source="feedback",
            size=size,
            s3_path=str(path),
            content_hash=version,
        )
