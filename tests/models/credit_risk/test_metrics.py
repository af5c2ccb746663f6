"""AUC with a seeded bootstrap interval, KS and Brier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from nivesh_ml.errors import DataError
from nivesh_ml.models.credit_risk.metrics import auc, auc_interval, brier, ks, summary


def scores(n: int = 2_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(np.int64)
    p = np.clip(0.2 + 0.25 * y + rng.normal(0, 0.2, n), 0, 1).round(2)  # rounded: ties to rank
    return y, p


def test_the_interval_holds_the_auc_and_repeats_with_its_seed() -> None:
    y, p = scores()
    low, high = auc_interval(y, p, resamples=1_000, seed=7)
    assert low < auc(y, p) < high
    assert high - low < 0.1
    assert auc_interval(y, p, resamples=1_000, seed=7) == (low, high)
    assert auc_interval(y, p, resamples=1_000, seed=8) != (low, high)


def test_the_rank_formula_matches_scikit_learn_with_ties() -> None:
    y, p = scores(n=300, seed=1)
    low, high = auc_interval(y, p, resamples=1, seed=0, level=0.0)
    index = np.random.default_rng(0).integers(0, 300, size=(1, 300))[0]
    assert low == pytest.approx(roc_auc_score(y[index], p[index]))
    assert high == pytest.approx(low)


def test_ks_and_brier() -> None:
    y = np.array([0, 0, 1, 1])
    assert ks(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert brier(y, np.array([0.0, 0.0, 1.0, 1.0])) == 0.0
    assert brier(y, np.full(4, 0.5)) == 0.25


def test_summary_names_every_figure() -> None:
    y, p = scores()
    assert set(summary(y, p, resamples=50)) == {
        "auc",
        "auc_ci_low",
        "auc_ci_high",
        "ks",
        "brier",
        "rows",
        "default_rate",
    }


def test_one_class_labels_are_refused() -> None:
    with pytest.raises(DataError, match="both defaults and non-defaults"):
        auc(np.zeros(10, dtype=np.int64), np.linspace(0, 1, 10))
