"""Fit the forecast's parameters on everything before a cut: curves, then weights and bands."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nivesh_ml.models.spending.config import SpendingConfig
from nivesh_ml.models.spending.curves import fit_curves
from nivesh_ml.models.spending.forecast import SpendingParams
from nivesh_ml.models.spending.levels import fit_bands, fit_weights, training_examples
from nivesh_ml.models.spending.panel import LevelSource, SpendPanel

__all__ = ["cut_instant", "fit_params"]


def cut_instant(panel: SpendPanel, cut_month: int) -> pd.Timestamp:
    """The start of month ``cut_month``; the end of the data when it is one past the last month."""
    return panel.end if cut_month >= len(panel.months) else pd.Timestamp(panel.months[cut_month])


def fit_params(
    panel: SpendPanel, source: LevelSource, cut_month: int, config: SpendingConfig, title: str = "fit"
) -> SpendingParams:
    """Parameters fitted on the data before month ``cut_month`` (``len(panel.months)``: all of it)."""
    cut = cut_instant(panel, cut_month)
    curves = fit_curves(panel, panel.day(cut), config, title)
    examples = training_examples(panel, source, cut_month, config)
    weights = fit_weights(examples, config)
    bands, total_bands = fit_bands(examples, weights, config)
    return SpendingParams(
        config=config,
        categories=panel.categories,
        start=panel.start,
        cut=cut,
        reference_cum=_cumulated(curves.reference),
        fitted_cum=_cumulated(curves.fitted),
        weights=weights,
        bands=bands,
        total_bands=total_bands,
    )


def _cumulated(daily: np.ndarray) -> np.ndarray:
    """(rows, days + 1) running totals with a leading 0, so a window's total is one subtraction."""
    return np.concatenate([np.zeros((daily.shape[0], 1)), np.cumsum(daily, axis=1)], axis=1)
