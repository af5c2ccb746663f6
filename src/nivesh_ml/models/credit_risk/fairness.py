"""Fairness validation with fairlearn's MetricFrame: rates by group, gaps, and the gate's verdict.

The decision whose fairness is judged is the lending one: an applicant is **declined** (the
"selected", positive prediction) when the calibrated PD reaches the high-risk threshold
(``Settings.credit_high_risk_threshold``). By group of each attribute: selection (decline) rate,
true-positive rate (defaulters declined) and false-positive rate (repayers declined). Gaps:
demographic-parity difference (largest minus smallest selection rate) and equalised-odds
difference (the larger of the TPR gap and the FPR gap), the quantities fairlearn's
``demographic_parity_difference`` and ``equalized_odds_difference`` compute, here over the groups
large enough to measure (see :class:`~nivesh_ml.models.credit_risk.config.FairnessLimits`); the
gaps over every group are reported beside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (  # type: ignore[import-untyped]  # fairlearn ships no type hints
    MetricFrame,
    count,
    selection_rate,
)
from scipy.stats import norm

from nivesh_ml.models.credit_risk.config import FairnessLimits

__all__ = ["AttributeFairness", "FairnessReport", "assess_fairness"]


@dataclass(frozen=True)
class AttributeFairness:
    """Rates by group of one attribute and its gaps."""

    attribute: str
    by_group: pd.DataFrame  # index: group; selection_rate, tpr, fpr, count, positives, negatives
    dp_difference: float  # over groups large enough to measure
    eo_difference: float
    dp_difference_all: float  # over every group
    eo_difference_all: float
    violations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FairnessReport:
    """Fairness of one model's decisions on one data set, against the limits."""

    threshold: float
    limits: FairnessLimits
    attributes: list[AttributeFairness]

    @property
    def passed(self) -> bool:
        """Whether no attribute breaks a limit."""
        return not self.violations

    @property
    def violations(self) -> list[str]:
        """One line per broken limit, naming the attribute, the metric and the groups."""
        return [line for attribute in self.attributes for line in attribute.violations]

    def metrics(self) -> dict[str, float]:
        """Flat gaps for MLflow: ``fairness_<dp|eo>_difference_<attribute>`` (and ``_all``)."""
        flat: dict[str, float] = {}
        for item in self.attributes:
            flat[f"fairness_dp_difference_{item.attribute}"] = item.dp_difference
            flat[f"fairness_eo_difference_{item.attribute}"] = item.eo_difference
            flat[f"fairness_dp_difference_all_{item.attribute}"] = item.dp_difference_all
            flat[f"fairness_eo_difference_all_{item.attribute}"] = item.eo_difference_all
        return flat

    def to_dict(self) -> dict[str, Any]:
        """The whole report, JSON-able."""
        return {
            "decision": f"decline when PD >= {self.threshold}",
            "limits": vars(self.limits),
            "passed": self.passed,
            "violations": self.violations,
            "attributes": {
                item.attribute: {
                    "dp_difference": item.dp_difference,
                    "eo_difference": item.eo_difference,
                    "dp_difference_all_groups": item.dp_difference_all,
                    "eo_difference_all_groups": item.eo_difference_all,
                    "by_group": _records(item.by_group),
                }
                for item in self.attributes
            },
        }


def assess_fairness(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    groups: Mapping[str, pd.Series],
    *,
    threshold: float,
    limits: FairnessLimits,
) -> FairnessReport:
    """Rates by group, gaps and violations for each attribute in ``groups`` (attribute -> labels)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    declined = (np.asarray(probabilities) >= threshold).astype(np.int64)
    attributes = [_attribute(name, y_true, declined, labels, limits) for name, labels in groups.items()]
    return FairnessReport(threshold, limits, attributes)


def _attribute(
    name: str, y_true: np.ndarray, declined: np.ndarray, labels: pd.Series, limits: FairnessLimits
) -> AttributeFairness:
    frame = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": _rate_among(1),
            "fpr": _rate_among(0),
            "count": count,
            "positives": _positives,
        },
        y_true=y_true,
        y_pred=declined,
        sensitive_features=pd.Series(np.asarray(labels, dtype=object), name=name),
    )
    table = frame.by_group.astype(np.float64)
    table["negatives"] = table["count"] - table["positives"]
    dp, eo, tpr_gap, fpr_gap = _gaps(table, limits)
    every = _gaps(table, FairnessLimits(min_group_size=1, min_group_positives=1))
    violations = _violations(name, table, limits, dp, eo, tpr_gap, fpr_gap)
    return AttributeFairness(name, table, dp, eo, every[0], every[1], violations)


def _rate_among(label: int) -> Any:
    """Share declined among rows whose truth is ``label`` (NaN where there are none)."""

    def rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        mask = np.asarray(y_true) == label
        return float(np.asarray(y_pred)[mask].mean()) if mask.any() else float("nan")

    return rate


def _positives(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sum(np.asarray(y_true) == 1))


def _gaps(table: pd.DataFrame, limits: FairnessLimits) -> tuple[float, float, float, float]:
    """DP gap, EO gap, TPR gap, FPR gap over the groups big enough for each rate."""
    selection = table.loc[table["count"] >= limits.min_group_size, "selection_rate"]
    tpr = table.loc[table["positives"] >= limits.min_group_positives, "tpr"].dropna()
    fpr = table.loc[table["negatives"] >= limits.min_group_positives, "fpr"].dropna()
    dp, tpr_gap, fpr_gap = (_spread(values) for values in (selection, tpr, fpr))
    return dp, max(tpr_gap, fpr_gap), tpr_gap, fpr_gap


def _spread(values: pd.Series) -> float:
    return float(values.max() - values.min()) if len(values) >= 2 else 0.0


def _violations(
    name: str,
    table: pd.DataFrame,
    limits: FairnessLimits,
    dp: float,
    eo: float,
    tpr_gap: float,
    fpr_gap: float,
) -> list[str]:
    """The gaps above their limit that are also statistically significant (see :func:`_p_value`)."""
    found = []
    if dp > limits.max_dp_difference:
        rates = table.loc[table["count"] >= limits.min_group_size, "selection_rate"]
        p_value = _p_value(rates, table["count"])
        if p_value < limits.alpha:
            found.append(
                f"demographic-parity difference on {name} is {dp:.3f} > {limits.max_dp_difference} "
                f"(decline rate {_extremes(rates)}, p={p_value:.3g})"
            )
    if eo > limits.max_eo_difference:
        metric = "tpr" if tpr_gap >= fpr_gap else "fpr"
        column = "positives" if metric == "tpr" else "negatives"
        rates = table.loc[table[column] >= limits.min_group_positives, metric].dropna()
        p_value = _p_value(rates, table[column])
        if p_value < limits.alpha:
            found.append(
                f"equalised-odds difference on {name} is {eo:.3f} > {limits.max_eo_difference} "
                f"({metric.upper()} {_extremes(rates)}, p={p_value:.3g})"
            )
    return found


def _p_value(rates: pd.Series, sizes: pd.Series) -> float:
    """Two-sided p-value of the two-proportion z-test between the highest and the lowest rate.

    A gap measured on a few dozen people per group moves by 0.1 from sample to sample; the gate
    refuses a gap above its limit only when it is unlikely to be that noise (p below
    ``FairnessLimits.alpha``). Report and MLflow keep every gap, significant or not.
    """
    high, low = rates.idxmax(), rates.idxmin()
    n1, n2 = float(sizes[high]), float(sizes[low])
    p1, p2 = float(rates[high]), float(rates[low])
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = float(np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)))
    return 1.0 if se == 0 else float(2 * norm.sf(abs(p1 - p2) / se))


def _extremes(rates: pd.Series) -> str:
    return f"{rates.idxmax()} {rates.max():.3f} vs {rates.idxmin()} {rates.min():.3f}"


def _records(table: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    return {
        str(group): {key: (None if pd.isna(value) else float(value)) for key, value in row.items()}
        for group, row in table.to_dict("index").items()
    }
