"""Threshold calibration, the reported score scale, and the detection metrics."""

from __future__ import annotations

import numpy as np
import pytest

from nivesh_ml.models.anomaly.detector import calibrate_threshold, detection_metrics


def test_threshold_flags_at_most_the_target_share_of_normal_scores() -> None:
    scores = np.random.default_rng(0).uniform(0.3, 0.7, 10_000)
    for target in (0.001, 0.01, 0.05):
        threshold = calibrate_threshold(scores, target)
        assert (scores >= threshold).mean() <= target
        assert (scores >= threshold).mean() >= target - 0.001


def test_ties_never_push_the_rate_over_the_target() -> None:
    scores = np.array([0.5] * 990 + [0.9] * 10)
    threshold = calibrate_threshold(scores, 0.005)
    assert (scores >= threshold).mean() <= 0.005


def test_metrics_of_a_toy_split() -> None:
    is_anomaly = np.array([True, True, True, False, False, False, False])
    kinds = np.array(["a", "a", "b", "", "", "", ""], dtype=object)
    raw = np.array([0.9, 0.4, 0.8, 0.7, 0.3, 0.2, 0.1])
    metrics = detection_metrics(raw, raw >= 0.6, is_anomaly, kinds)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["fpr"] == pytest.approx(1 / 4)
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall_a"] == pytest.approx(0.5)
    assert metrics["recall_b"] == 1.0
    assert metrics["auc"] == pytest.approx(11 / 12)
    assert 0 < metrics["pr_auc"] <= 1
