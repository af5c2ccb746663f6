"""The fitted detector: compiled forest, population priors, calibrated threshold; and its metrics.

The alert threshold is not a contamination guess: it is the score quantile of held-out *normal*
debits that leaves ``target_fpr`` of them above it. Scores are reported on a scale where that
threshold sits at 0.5 (``Settings.anomaly_threshold``'s default): below it linearly from 0,
above it linearly up to 1, so "score >= 0.5" and "is_anomaly" always agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from nivesh_ml.models.anomaly.config import AnomalyConfig
from nivesh_ml.models.anomaly.features import FEATURES, Priors
from nivesh_ml.models.anomaly.forest import CompiledForest

__all__ = ["Detector", "calibrate_threshold", "detection_metrics"]

_FOREST_FILE = "forest.npz"
_META_FILE = "detector.json"


@dataclass(frozen=True)
class Detector:
    """Everything scoring needs."""

    config: AnomalyConfig
    forest: CompiledForest
    priors: Priors
    threshold: float  # raw forest score at which a debit is flagged
    features: tuple[str, ...] = FEATURES

    def scale(self, raw: np.ndarray) -> np.ndarray:
        """Raw forest scores on the reported scale (threshold at 0.5)."""
        t = self.threshold
        below = 0.5 * raw / t
        above = 0.5 + 0.5 * (raw - t) / max(1.0 - t, 1e-9)
        return np.asarray(np.clip(np.where(raw < t, below, above), 0.0, 1.0), dtype=np.float64)

    def flags(self, raw: np.ndarray) -> np.ndarray:
        """Whether each raw score raises an alert."""
        return np.asarray(raw >= self.threshold, dtype=bool)

    def reference(self) -> np.ndarray:
        """Each feature's typical value (the reasons' baseline), in feature order."""
        return np.array([self.priors.reference.get(name, 0.0) for name in self.features])

    def save(self, folder: Path) -> None:
        """Write ``forest.npz`` and ``detector.json`` into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        self.forest.save(folder / _FOREST_FILE)
        meta = {
            "config": self.config.to_json(),
            "priors": self.priors.to_json(),
            "threshold": self.threshold,
            "features": list(self.features),
        }
        (folder / _META_FILE).write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Detector:
        """Read a detector written by :meth:`save`."""
        meta: dict[str, Any] = json.loads((folder / _META_FILE).read_text(encoding="utf-8"))
        return cls(
            config=AnomalyConfig.from_json(meta["config"]),
            forest=CompiledForest.load(folder / _FOREST_FILE),
            priors=Priors.from_json(meta["priors"]),
            threshold=float(meta["threshold"]),
            features=tuple(meta["features"]),
        )


def calibrate_threshold(normal_scores: np.ndarray, target_fpr: float) -> float:
    """The lowest raw score that flags at most ``target_fpr`` of ``normal_scores``."""
    ordered = np.sort(normal_scores)
    allowed = int(np.floor(target_fpr * ordered.size))  # how many normal debits may be flagged
    if allowed >= ordered.size:
        return float(ordered[0])
    # flag strictly above the (allowed+1)-th highest score: at most `allowed` normal debits
    return float(np.nextafter(ordered[ordered.size - allowed - 1], np.inf))


def detection_metrics(
    raw: np.ndarray, flags: np.ndarray, is_anomaly: np.ndarray, anomaly_type: np.ndarray
) -> dict[str, float]:
    """FPR, recall (overall and per type), precision, ROC-AUC and PR-AUC of flagged debits."""
    y = np.asarray(is_anomaly, dtype=bool)
    flagged = np.asarray(flags, dtype=bool)
    out = {
        "fpr": float(flagged[~y].mean()) if (~y).any() else float("nan"),
        "recall": float(flagged[y].mean()) if y.any() else float("nan"),
        "precision": float(y[flagged].mean()) if flagged.any() else float("nan"),
        "flag_rate": float(flagged.mean()),
        "transactions": float(y.size),
        "anomalies": float(y.sum()),
    }
    both = y.any() and (~y).any()
    out["auc"] = float(roc_auc_score(y, raw)) if both else float("nan")
    out["roc_auc"] = out["auc"]
    out["pr_auc"] = float(average_precision_score(y, raw)) if both else float("nan")
    types = np.asarray(anomaly_type, dtype=object)
    for name in sorted({str(t) for t in types[y]}):
        rows = y & (types == name)
        out[f"recall_{name}"] = float(flagged[rows].mean())
    return out
