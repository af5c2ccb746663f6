"""Reading flagged debits back: reasons for chosen rows of a feature set, as records and markdown."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nivesh_ml.models.anomaly.detector import Detector
from nivesh_ml.models.anomaly.features import Transactions
from nivesh_ml.models.anomaly.history import FeatureSet
from nivesh_ml.models.anomaly.reasons import Details, explain, group_pushes

__all__ = ["explained_rows", "flagged_table", "markdown_table", "reason_examples"]


def explained_rows(detector: Detector, features: FeatureSet, rows: np.ndarray) -> list[dict[str, Any]]:
    """For each of ``rows`` (in that order): when, who, where, how much, its score and its reasons."""
    raw, pushes = group_pushes(detector.forest, features.matrix[rows], detector.reference())
    scores = detector.scale(raw)
    records: dict[int, dict[str, Any]] = {}
    for snapshot in np.unique(features.snapshot[rows]):
        picked = np.flatnonzero(features.snapshot[rows] == snapshot)
        index = rows[picked]
        meta = features.meta.iloc[index]
        details = Details.build(
            Transactions.build(meta, features.stats_row[index]),
            features.tables[snapshot],
            {name: values[index] for name, values in features.context.items()},
            detector.priors,
            features.matrix[index],
        )
        for j, k in enumerate(picked):
            reasons = explain(details, pushes[picked], j, detector.config.reasons)
            records[int(k)] = _record(meta.iloc[j], float(scores[k]), reasons)
    return [records[k] for k in range(len(rows))]


def _record(row: pd.Series, score: float, reasons: list[str]) -> dict[str, Any]:
    record = {
        "timestamp": str(row["timestamp"]),
        "user_id": str(row["user_id"]),
        "merchant": str(row["merchant"]),
        "category": str(row["category"]),
        "amount": round(float(row["amount"]), 2),
        "score": round(score, 4),
        "reasons": reasons,
    }
    if "anomaly_type" in row.index:
        record["anomaly_type"] = str(row["anomaly_type"])
    return record


def flagged_table(
    detector: Detector, features: FeatureSet, raw: np.ndarray, top: int
) -> list[dict[str, Any]]:
    """The ``top`` highest-scoring rows, explained, highest first."""
    rows = np.argsort(-raw, kind="stable")[:top]
    return explained_rows(detector, features, rows)


def reason_examples(
    detector: Detector, features: FeatureSet, raw: np.ndarray, per_type: int = 2
) -> list[dict[str, Any]]:
    """A few flagged labelled anomalies of each type, explained (a reading of the reasons)."""
    if "anomaly_type" not in features.meta.columns:
        return []
    kinds = features.meta["anomaly_type"].astype(str).to_numpy()
    flagged = detector.flags(raw)
    chosen = [np.flatnonzero(flagged & (kinds == kind))[:per_type] for kind in sorted(set(kinds) - {""})]
    rows = np.concatenate(chosen) if chosen else np.array([], dtype=np.int64)
    return explained_rows(detector, features, rows) if rows.size else []


def markdown_table(records: list[dict[str, Any]]) -> str:
    """The records as a markdown table (reasons joined by semicolons)."""
    frame = pd.DataFrame(records)
    if frame.empty:
        return ""
    frame["reasons"] = frame["reasons"].map("; ".join)
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    lines = [
        "| " + " | ".join(str(v).replace("|", "/") for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *lines]) + "\n"
