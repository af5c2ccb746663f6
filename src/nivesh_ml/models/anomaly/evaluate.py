"""Evaluate a registered anomaly detector on a labelled transactions file.

The file (CSV or Parquet with the synthetic transactions' columns and ``is_anomaly``; optional
``anomaly_type`` for recall per type) must hold each user's history: its first
``warmup_months`` (the detector's setting) serve as history only, and every debit after them is
scored with features built point in time from the file itself, exactly as in training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nivesh_ml.config import Settings
from nivesh_ml.errors import DataError, ModelNotFoundError
from nivesh_ml.models.anomaly.detector import detection_metrics
from nivesh_ml.models.anomaly.features import FEATURES
from nivesh_ml.models.anomaly.history import build_feature_set, month_index
from nivesh_ml.models.anomaly.model import REQUIRED, AnomalyDetector
from nivesh_ml.models.pyfunc import unwrap
from nivesh_ml.models.transactions import read_transactions, sources_from_transactions
from nivesh_ml.tracking.loading import load_model

__all__ = ["evaluate"]


def evaluate(settings: Settings, data: Path, alias: str = "champion") -> dict[str, Any]:
    """FPR, recall (overall and per type), precision, ROC-AUC and PR-AUC of ``alias`` on ``data``."""
    loaded = load_model(settings, "anomaly", alias)
    detector = unwrap(loaded, AnomalyDetector).detector
    if detector.features != FEATURES:
        raise ModelNotFoundError(f"{loaded.name} v{loaded.version} was built with other features; retrain it")
    transactions = read_transactions(Path(data), (*REQUIRED, "direction", "is_anomaly"))
    first = _first_scored(transactions["timestamp"], detector.config.warmup_months)
    features = build_feature_set(
        sources_from_transactions(transactions), first, detector.priors, detector.config, title="evaluate"
    )
    if features.meta.empty:
        raise DataError(
            f"{data}: no debits after the {detector.config.warmup_months} warm-up months to score"
        )
    raw = detector.forest.score(features.matrix)
    labels = features.meta["is_anomaly"].astype(bool).to_numpy()
    kinds = (
        features.meta.get("anomaly_type", pd.Series(np.where(labels, "anomaly", ""))).astype(str).to_numpy()
    )
    metrics = detection_metrics(raw, detector.flags(raw), labels, kinds)
    return {**metrics, "model_version": loaded.version, "scored_from": str(first.date())}


def _first_scored(stamps: pd.Series, warmup_months: int) -> pd.Timestamp:
    """The month start after the warm-up (the file's first month when it is too short for one)."""
    start = pd.Timestamp(stamps.min()).to_period("M").to_timestamp()
    months = int(month_index(pd.Series([stamps.max()]), start)[0]) + 1
    return start + pd.DateOffset(months=warmup_months if months > warmup_months else 0)
