"""Discrimination and calibration metrics: AUC with a bootstrap interval, KS, Brier."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score, roc_curve

from nivesh_ml.errors import DataError

__all__ = ["auc", "auc_interval", "brier", "ks", "summary"]

_CHUNK = 100  # resamples ranked at once: bounds memory on large files


def _check(y: np.ndarray, p: np.ndarray) -> None:
    if len(y) != len(p) or len(y) == 0:
        raise DataError(f"need as many scores as labels (got {len(p)} and {len(y)}), and at least one")
    if len(np.unique(y)) < 2:
        raise DataError("AUC and KS need both defaults and non-defaults in the labels")


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve."""
    _check(y, p)
    return float(roc_auc_score(y, p))


def ks(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the score CDFs of the two classes."""
    _check(y, p)
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of the probabilities (lower is better)."""
    return float(np.mean((np.asarray(p, dtype=np.float64) - y) ** 2))


def auc_interval(
    y: np.ndarray, p: np.ndarray, *, resamples: int = 1_000, seed: int = 42, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC (rows resampled with replacement, seeded)."""
    _check(y, p)
    rng = np.random.default_rng(seed)
    y, p = np.asarray(y, dtype=np.int64), np.asarray(p, dtype=np.float64)
    values: list[np.ndarray] = []
    for start in range(0, resamples, _CHUNK):
        index = rng.integers(0, len(y), size=(min(_CHUNK, resamples - start), len(y)))
        values.append(_rank_auc(y[index], p[index]))
    samples = np.concatenate(values)
    samples = samples[np.isfinite(samples)]  # a resample with one class only has no AUC
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def _rank_auc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """AUC of each row of (resamples, n) labels and scores, by the rank-sum (Mann-Whitney) formula."""
    ranks = rankdata(p, axis=1)
    positives = y.sum(axis=1).astype(np.float64)
    negatives = y.shape[1] - positives
    rank_sum = (ranks * y).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))


def summary(y: np.ndarray, p: np.ndarray, *, resamples: int = 1_000, seed: int = 42) -> dict[str, float]:
    """AUC with its 95% interval, KS, Brier, rows and default rate."""
    low, high = auc_interval(y, p, resamples=resamples, seed=seed)
    return {
        "auc": auc(y, p),
        "auc_ci_low": low,
        "auc_ci_high": high,
        "ks": ks(y, p),
        "brier": brier(y, p),
        "rows": float(len(y)),
        "default_rate": float(np.mean(y)),
    }
