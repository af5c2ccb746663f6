"""Fitting the per-user part: how much to trust each window, and how wide the 80% bands are.

Training examples come from snapshots 1..``weight_history_months`` months before the cut: each
user's window levels as of a month start, and what they then spent in each later month before
the cut. Against the *observed* category total of that month (so the weights learn the user part
only), each window alone would forecast ``x_k * total``; the weights are the least-squares blend of
those forecasts with weights summing to 1 (so, summed over users, the forecast is the curve:
coherent with the category total). Categories with too few examples share pooled weights.

The bands are empirical: per category and bin of relative level, the 10th and 90th percentiles of
actual / forecast on the same examples (and of actual / curve where the forecast is 0), widened
where needed to hold the forecast itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nivesh_ml.errors import DataError
from nivesh_ml.models.spending.config import SpendingConfig
from nivesh_ml.models.spending.forecast import Bands, point_forecast, relative_levels
from nivesh_ml.models.spending.panel import LevelSource, SpendPanel

__all__ = ["Examples", "fit_bands", "fit_weights", "training_examples"]


@dataclass(frozen=True)
class Examples:
    """Per window, the forecast it alone makes, the actual, and the month's total, stacked."""

    single: np.ndarray  # (rows, categories, windows): x_k * month total
    relative: np.ndarray  # (rows, categories, windows): x_k
    actual: np.ndarray  # (rows, categories)
    curve: np.ndarray  # (rows, categories): the observed month total
    horizon: np.ndarray  # (rows,): months from the snapshot to the target month, 1 = the next


def training_examples(
    panel: SpendPanel, source: LevelSource, cut_month: int, config: SpendingConfig
) -> Examples:
    """Examples from snapshots before month ``cut_month`` (an index into ``panel.months``)."""
    singles, relatives, actuals, curves, horizons = [], [], [], [], []
    for back in range(1, config.weight_history_months + 1):
        snap = cut_month - back
        if snap < 1:
            break
        as_of = panel.months[snap]
        relative = relative_levels(source.levels(as_of), _window_totals(panel, panel.day(as_of), config))
        for month in range(snap, cut_month):
            total = panel.month_total(month)
            singles.append(relative * total[None, :, None])
            relatives.append(relative)
            actuals.append(panel.monthly[:, :, month])
            curves.append(np.broadcast_to(total, panel.monthly.shape[:2]))
            horizons.append(np.full(panel.entities.size, month - snap + 1))
    if not singles:
        raise DataError(f"no training snapshot before {panel.months[min(cut_month, len(panel.months) - 1)]}")
    return Examples(
        single=np.concatenate(singles),
        relative=np.concatenate(relatives),
        actual=np.concatenate(actuals),
        curve=np.concatenate(curves),
        horizon=np.concatenate(horizons),
    )


def _window_totals(panel: SpendPanel, end: int, config: SpendingConfig) -> np.ndarray:
    cum = np.concatenate([np.zeros((panel.daily.shape[0], 1)), np.cumsum(panel.daily, axis=1)], axis=1)
    return np.stack([cum[:, end] - cum[:, max(end - d, 0)] for d in config.windows_days], axis=1)


def fit_weights(examples: Examples, config: SpendingConfig) -> np.ndarray:
    """(categories, windows) least-squares weights summing to 1; pooled where a category is thin."""
    n_categories = examples.actual.shape[1]
    pooled = _constrained_lstsq(
        examples.single.transpose(1, 0, 2).reshape(-1, examples.single.shape[2]),
        examples.actual.T.reshape(-1),
    )
    weights = np.tile(pooled, (n_categories, 1))
    for c in range(n_categories):
        if (examples.actual[:, c] > 0).sum() >= config.min_rows_per_category:
            weights[c] = _constrained_lstsq(examples.single[:, c, :], examples.actual[:, c])
    return weights


def _constrained_lstsq(single: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """argmin_w ||actual - single @ w||^2 subject to sum(w) = 1 (last weight eliminated)."""
    last = single[:, -1]
    design = single[:, :-1] - last[:, None]
    head, *_ = np.linalg.lstsq(design, actual - last, rcond=None)
    return np.append(head, 1.0 - head.sum())


def fit_bands(examples: Examples, weights: np.ndarray, config: SpendingConfig) -> tuple[Bands, Bands]:
    """Per-category bands and bands of the total, from the errors at horizons up to ``horizon_months``."""
    rows = examples.horizon <= config.horizon_months
    relative, actual, curve = examples.relative[rows], examples.actual[rows], examples.curve[rows]
    amount = point_forecast(relative, weights, np.ones((weights.shape[0], 1)))[:, :, 0] * curve
    per_category = _bands(amount, actual, curve, config)
    total = _bands(
        amount.sum(axis=1, keepdims=True),
        actual.sum(axis=1, keepdims=True),
        curve.sum(axis=1, keepdims=True),
        config,
    )
    return per_category, total


def _bands(amount: np.ndarray, actual: np.ndarray, curve: np.ndarray, config: SpendingConfig) -> Bands:
    """Bands per column of (rows, groups) forecasts, pooled over groups where one is thin."""
    groups, n_bins = amount.shape[1], config.band_bins
    pooled = _group_bands(amount.reshape(-1), actual.reshape(-1), curve.reshape(-1), config)
    out = [pooled] * groups
    for g in range(groups):
        if (amount[:, g] > 0).sum() >= config.min_rows_per_category * n_bins:
            out[g] = _group_bands(amount[:, g], actual[:, g], curve[:, g], config)
    edges, lower, upper, zero = (np.stack([part[i] for part in out]) for i in range(4))
    return Bands(edges=edges, lower=lower, upper=upper, zero_upper=zero)


def _group_bands(
    amount: np.ndarray, actual: np.ndarray, curve: np.ndarray, config: SpendingConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    q_lo, q_hi = config.band_quantiles
    positive = amount > 0
    relative = amount[positive] / np.where(curve[positive] > 0, curve[positive], 1.0)
    ratio = actual[positive] / amount[positive]
    inner = np.linspace(0, 1, config.band_bins + 1)[1:-1]
    edges = np.quantile(relative, inner) if relative.size else np.zeros(inner.size)
    bins = np.searchsorted(edges, relative, side="left")
    lower, upper = np.ones(config.band_bins), np.ones(config.band_bins)
    for b in range(config.band_bins):
        in_bin = ratio[bins == b]
        if in_bin.size:
            # a band always holds its own forecast, even where most months fall short of a mean
            low, high = np.quantile(in_bin, [q_lo, q_hi])
            lower[b], upper[b] = min(low, 1.0), max(high, 1.0)
    zero_rows = ~positive & (curve > 0)
    zero_upper = np.quantile(actual[zero_rows] / curve[zero_rows], q_hi) if zero_rows.any() else 0.0
    return edges, lower, upper, np.asarray(zero_upper)
