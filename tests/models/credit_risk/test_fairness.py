"""Fairness by group with fairlearn's MetricFrame: rates, gaps, and violations that name group and metric."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nivesh_ml.models.credit_risk.config import FairnessLimits
from nivesh_ml.models.credit_risk.fairness import assess_fairness


def two_groups(
    declined_a: float, declined_b: float, n: int = 400
) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Half group a, half b, 25% defaults in each; PDs put the given shares above 0.5 in each group."""
    half = n // 2
    y = np.tile(np.array([1, 0, 0, 0]), n // 4)
    p = np.zeros(n)
    for start, share in ((0, declined_a), (half, declined_b)):
        p[start : start + int(share * half)] = 0.9  # declined, defaulters and repayers alike
    groups = pd.Series(["a"] * half + ["b"] * half)
    return y, p, groups


def test_equal_treatment_passes() -> None:
    y, p, groups = two_groups(0.2, 0.2)
    report = assess_fairness(y, p, {"region": groups}, threshold=0.5, limits=FairnessLimits())
    assert report.passed
    assert report.metrics()["fairness_dp_difference_region"] == pytest.approx(0.0)
    table = report.attributes[0].by_group
    assert set(table.columns) >= {"selection_rate", "tpr", "fpr", "count", "positives", "negatives"}


def test_a_gap_beyond_the_limit_names_the_attribute_metric_and_groups() -> None:
    y, p, groups = two_groups(0.4, 0.1)
    report = assess_fairness(y, p, {"region": groups}, threshold=0.5, limits=FairnessLimits())
    assert not report.passed
    dp, eo = report.violations
    assert dp.startswith("demographic-parity difference on region is 0.300 > 0.1")
    assert "a 0.400 vs b 0.100" in dp
    assert eo.startswith("equalised-odds difference on region")
    assert report.to_dict()["passed"] is False


def test_a_zero_limit_without_a_significance_test_refuses_any_gap() -> None:
    y, p, groups = two_groups(0.22, 0.2)
    limits = FairnessLimits(max_dp_difference=0.0, max_eo_difference=0.0, alpha=1.0)
    report = assess_fairness(y, p, {"region": groups}, threshold=0.5, limits=limits)
    assert any("demographic-parity difference on region" in line for line in report.violations)


def test_a_gap_above_the_limit_that_could_be_noise_is_reported_but_does_not_fail() -> None:
    # 0.30 vs 0.10 on 20 people a group: p is about 0.11, so the gap may well be sampling noise
    small = FairnessLimits(min_group_size=10, min_group_positives=5)
    y, p, groups = two_groups(0.3, 0.1, n=40)
    report = assess_fairness(y, p, {"region": groups}, threshold=0.5, limits=small)
    assert report.metrics()["fairness_dp_difference_region"] == pytest.approx(0.2)
    assert report.passed
    # the same gap on ten times the people is no longer noise
    y, p, groups = two_groups(0.3, 0.1, n=400)
    report = assess_fairness(y, p, {"region": groups}, threshold=0.5, limits=small)
    assert any("p=" in line for line in report.violations)


def test_groups_too_small_to_measure_are_reported_but_cannot_fail() -> None:
    y, p, groups = two_groups(0.2, 0.2)
    y, p = np.append(y, [1, 0]), np.append(p, [0.9, 0.9])
    groups = pd.concat([groups, pd.Series(["tiny", "tiny"])], ignore_index=True)
    report = assess_fairness(y, p, {"region": groups}, threshold=0.5, limits=FairnessLimits())
    assert report.passed
    item = report.attributes[0]
    assert "tiny" in item.by_group.index
    assert item.dp_difference_all == pytest.approx(0.8)
