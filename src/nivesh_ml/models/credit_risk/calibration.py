"""Calibration of the booster's scores on held-out data, and the reliability diagram.

Two maps, both monotone (so a monotone model stays monotone once calibrated):

- **isotonic**: a step-wise non-decreasing map fitted by isotonic regression, applied by linear
  interpolation between its knots; a candidate when the held-out rows hold at least
  ``isotonic_min_positives`` defaults, since with fewer its steps follow noise;
- **Platt**: ``sigmoid(a * logit(raw) + b)`` with ``a > 0``, fitted by Newton's method on Platt's
  smoothed targets.

:func:`fit_calibrator` scores each candidate, and the raw scores themselves (**identity**), by
k-fold cross-validated Brier score on the held-out rows, and keeps the best: a map is applied
only where it is expected to help. XGBoost's log-loss objective often leaves little to fix, and
an isotonic map fitted on a few thousand rows can then add more noise than it removes.

Probabilities are kept inside ``[PD_FLOOR, 1 - PD_FLOOR]``: no applicant is ever certain to repay.
The map is plain numbers in JSON, applied with numpy: the served model needs no scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

__all__ = ["PD_FLOOR", "Calibrator", "fit_calibrator", "reliability_figure", "reliability_table"]

PD_FLOOR = 1e-4
Method = Literal["identity", "isotonic", "platt"]


@dataclass(frozen=True)
class Calibrator:
    """A fitted monotone map from the booster's probability to a calibrated probability of default."""

    method: Method
    knots_x: tuple[float, ...] = ()
    knots_y: tuple[float, ...] = ()
    slope: float = 1.0
    intercept: float = 0.0
    cv_brier: tuple[tuple[str, float], ...] = ()  # each candidate's cross-validated Brier score

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of an array of raw ones."""
        raw = np.asarray(raw, dtype=np.float64)
        if self.method == "isotonic":
            calibrated = np.interp(raw, self.knots_x, self.knots_y)
        elif self.method == "platt":
            calibrated = _sigmoid(self.slope * _logit(raw) + self.intercept)
        else:
            calibrated = raw
        return np.asarray(np.clip(calibrated, PD_FLOOR, 1 - PD_FLOOR), dtype=np.float64)

    def apply_one(self, raw: float) -> float:
        """The calibrated probability of one raw one (the hot path: no array allocation)."""
        if self.method == "isotonic":
            value = float(np.interp(raw, self.knots_x, self.knots_y))
        elif self.method == "identity":
            value = raw
        else:
            clipped = min(max(raw, 1e-12), 1 - 1e-12)
            value = 1.0 / (1.0 + math.exp(-(self.slope * math.log(clipped / (1 - clipped)) + self.intercept)))
        return min(max(value, PD_FLOOR), 1 - PD_FLOOR)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able parameters."""
        return {
            "method": self.method,
            "knots_x": list(self.knots_x),
            "knots_y": list(self.knots_y),
            "slope": self.slope,
            "intercept": self.intercept,
            "cv_brier": dict(self.cv_brier),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibrator:
        """The calibrator :meth:`to_dict` described."""
        return cls(
            method=data["method"],
            knots_x=tuple(float(v) for v in data["knots_x"]),
            knots_y=tuple(float(v) for v in data["knots_y"]),
            slope=float(data["slope"]),
            intercept=float(data["intercept"]),
            cv_brier=tuple((str(k), float(v)) for k, v in data.get("cv_brier", {}).items()),
        )


def fit_calibrator(
    raw: np.ndarray, y: np.ndarray, *, isotonic_min_positives: int = 200, folds: int = 5, seed: int = 0
) -> Calibrator:
    """The best of identity, Platt and (with enough defaults) isotonic on held-out ``raw`` and ``y``.

    Best: lowest ``folds``-fold cross-validated Brier score; on a tie the simpler map (identity,
    then Platt) wins. The winner is refitted on every row.
    """
    raw, y = np.asarray(raw, dtype=np.float64), np.asarray(y, dtype=np.int64)
    candidates: list[Method] = ["identity", "platt"]
    if int(y.sum()) >= isotonic_min_positives:
        candidates.append("isotonic")
    scores = {method: _cv_brier(method, raw, y, folds, seed) for method in candidates}
    best = min(candidates, key=lambda method: scores[method])
    fitted = _FITTERS[best](raw, y)
    return replace(fitted, cv_brier=tuple((method, scores[method]) for method in candidates))


def _cv_brier(method: Method, raw: np.ndarray, y: np.ndarray, folds: int, seed: int) -> float:
    """Mean squared error of ``method``'s map, each row scored by a map fitted without it."""
    splits = min(folds, int(y.sum()), int(len(y) - y.sum()))
    if splits < 2:  # too few of a class to cross-validate: only the identity can be judged
        return float(np.mean((raw - y) ** 2)) if method == "identity" else math.inf
    predicted = np.empty_like(raw)
    for train, held in StratifiedKFold(splits, shuffle=True, random_state=seed).split(raw, y):
        predicted[held] = _FITTERS[method](raw[train], y[train]).apply(raw[held])
    return float(np.mean((predicted - y) ** 2))


def _identity(raw: np.ndarray, y: np.ndarray) -> Calibrator:
    return Calibrator("identity")


def _isotonic(raw: np.ndarray, y: np.ndarray) -> Calibrator:
    model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    return Calibrator(
        "isotonic",
        knots_x=tuple(float(v) for v in model.X_thresholds_),
        knots_y=tuple(float(v) for v in model.y_thresholds_),
    )


def _platt(raw: np.ndarray, y: np.ndarray, iterations: int = 50) -> Calibrator:
    """Platt scaling on the logit, with Platt's targets (no 0/1 target: no overconfident fit)."""
    positives = float(y.sum())
    negatives = len(y) - positives
    target = np.where(y == 1, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    x = _logit(raw)
    slope, intercept = 1.0, 0.0
    for _ in range(iterations):
        p = _sigmoid(slope * x + intercept)
        weight = np.maximum(p * (1 - p), 1e-12)
        gradient = np.array([np.sum((p - target) * x), np.sum(p - target)])
        hessian = np.array(
            [[np.sum(weight * x * x), np.sum(weight * x)], [np.sum(weight * x), np.sum(weight)]]
        )
        step = np.linalg.lstsq(hessian + 1e-9 * np.eye(2), gradient, rcond=None)[0]
        slope, intercept = slope - float(step[0]), intercept - float(step[1])
        if float(np.abs(step).max()) < 1e-8:
            break
    if slope <= 0:  # an inverted map would break monotonicity: keep the raw ranking, fix the level
        slope, intercept = 1.0, float(_logit(np.array([target.mean()]))[0] - np.mean(x))
    return Calibrator("platt", slope=slope, intercept=intercept)


_FITTERS: dict[str, Callable[[np.ndarray, np.ndarray], Calibrator]] = {
    "identity": _identity,
    "platt": _platt,
    "isotonic": _isotonic,
}


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, 1e-12, 1 - 1e-12)
    return np.asarray(np.log(clipped / (1 - clipped)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Per quantile bin of ``p``: rows, mean predicted probability, observed default rate."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=np.float64), "p": np.asarray(p, dtype=np.float64)})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), q=min(bins, len(frame)), labels=False)
    table = frame.groupby("bin").agg(rows=("y", "size"), predicted=("p", "mean"), observed=("y", "mean"))
    return table.reset_index(drop=True)


def reliability_figure(tables: Mapping[str, pd.DataFrame], title: str) -> Figure:
    """The reliability diagram of one or more score sets (label -> :func:`reliability_table`)."""
    figure = Figure(figsize=(5.5, 5))
    axes = figure.subplots()
    top = max([float(t[["predicted", "observed"]].to_numpy().max()) for t in tables.values()] + [0.05])
    axes.plot([0, top], [0, top], linestyle="--", color="grey", label="perfectly calibrated")
    for label, table in tables.items():
        axes.plot(table["predicted"], table["observed"], marker="o", label=label)
    axes.set_xlabel("mean predicted probability of default")
    axes.set_ylabel("observed default rate")
    axes.set_title(title)
    axes.legend(loc="upper left")
    figure.tight_layout()
    return figure
