"""Fit and assess, without tracking: search, final booster, calibration, test metrics, fairness.

:func:`fit` and :func:`assess` are what :mod:`.train` wraps in an MLflow run; the behavioural
tests call them directly to get a model in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xgboost as xgb

from nivesh_ml.models.credit_risk.calibration import fit_calibrator
from nivesh_ml.models.credit_risk.config import VIEW, CreditRiskConfig, FairnessLimits
from nivesh_ml.models.credit_risk.data import CreditData, Splits, make_splits
from nivesh_ml.models.credit_risk.fairness import FairnessReport, assess_fairness
from nivesh_ml.models.credit_risk.metrics import brier, summary
from nivesh_ml.models.credit_risk.model import Scorer
from nivesh_ml.models.credit_risk.tuning import Tuned, matrix, search
from nivesh_ml.tracking.runs import TrainingRun

__all__ = ["Assessment", "Fitted", "assess", "fit"]


@dataclass(frozen=True)
class Fitted:
    """A tuned, calibrated model and how it was made."""

    scorer: Scorer
    tuned: Tuned
    regime: str
    calibration_rows: int


@dataclass(frozen=True)
class Assessment:
    """A model scored on the test rows: metrics, fairness, and the scores behind them."""

    metrics: dict[str, float]
    fairness: FairnessReport
    y: np.ndarray
    raw: np.ndarray
    probabilities: np.ndarray


def fit(data: CreditData, config: CreditRiskConfig, seed: int, run: TrainingRun | None = None) -> Fitted:
    """Search hyperparameters on ``data.train``, build the final booster, fit its calibration."""
    splits = make_splits(data, config, seed)
    tuned = search(splits, data.schema, config, seed, run)
    booster, raw, y = _final(splits, data, tuned, config)
    calibrator = fit_calibrator(raw, y, isotonic_min_positives=config.isotonic_min_positives)
    view = VIEW if data.name == "nivesh" else None
    scorer = Scorer(booster, data.schema, calibrator, max_reasons=config.max_reasons, view=view)
    return Fitted(scorer, tuned, splits.regime, len(y))


def _final(
    splits: Splits, data: CreditData, tuned: Tuned, config: CreditRiskConfig
) -> tuple[xgb.Booster, np.ndarray, np.ndarray]:
    """The booster to serve, and held-out raw scores with their labels to calibrate on.

    Holdout: the best trial's booster cut at its best round; the calibration split's scores.
    CV: a booster refitted on every training row for the tuned rounds; out-of-fold scores of
    the k fold boosters trained the same way (each row scored by a booster that never saw it).
    """
    if splits.regime == "holdout":
        assert tuned.booster is not None  # nosec B101  # narrows for mypy
        assert splits.calib is not None  # nosec B101  # narrows for mypy
        booster = tuned.booster[: tuned.rounds]
        return booster, np.asarray(booster.inplace_predict(splits.calib.x), dtype=np.float64), splits.calib.y
    everything = matrix(splits.fit.x, splits.fit.y, data.schema, config)
    booster = xgb.train(tuned.params, everything, num_boost_round=tuned.rounds)
    out_of_fold = np.empty(len(splits.fit.y), dtype=np.float64)
    for train_rows, held_out in splits.folds:
        part = matrix(splits.fit.x[train_rows], splits.fit.y[train_rows], data.schema, config)
        fold_booster = xgb.train(tuned.params, part, num_boost_round=tuned.rounds)
        out_of_fold[held_out] = fold_booster.inplace_predict(splits.fit.x[held_out])
    return booster, out_of_fold, splits.fit.y


def assess(
    scorer: Scorer,
    data: CreditData,
    *,
    threshold: float,
    limits: FairnessLimits,
    resamples: int,
    seed: int,
) -> Assessment:
    """Test metrics (AUC with its bootstrap interval, KS, Brier before and after calibration) and fairness."""
    y = data.y(data.test)
    raw = scorer.raw(data.x(data.test))
    probabilities = scorer.calibrator.apply(raw)
    metrics = summary(y, probabilities, resamples=resamples, seed=seed)
    metrics["brier_uncalibrated"] = brier(y, raw)
    groups = {name: data.test[name] for name in data.groups}
    fairness = assess_fairness(y, probabilities, groups, threshold=threshold, limits=limits)
    metrics.update(fairness.metrics())
    metrics["fairness_passed"] = float(fairness.passed)
    return Assessment(metrics, fairness, y, raw, probabilities)
