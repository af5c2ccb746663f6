"""The forecast itself: stored parameters in, amounts and 80% bands out, with no fitting.

For user ``u``, category ``c`` and a future month ``M``::

    level   x_k = spend_<c>_<k>d(u) / population spend in c over the same k days     (k = 30, 90, 365)
    amount      = (sum_k w_ck * x_k) * F_c(M)                 F_c(M): the category curve over month M
    band        = amount * [q_lo, q_hi] of actual/forecast in the user's level bin (training errors)

so the population curve carries trend, seasonality and holidays, the user's own windows carry
their level, and the weights (summing to 1) say how much each window is trusted. The same
:func:`forecast_cube` serves one user (serving) and every user at once (backtest, training).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nivesh_ml.errors import DataError
from nivesh_ml.models.spending.config import SpendingConfig

__all__ = ["Bands", "Forecast", "SpendingParams", "first_month", "forecast_cube"]

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Bands:
    """Band quantiles per category (or for the total) and bin of relative level (forecast / curve)."""

    edges: np.ndarray  # (groups, bins - 1) bin edges of the relative level
    lower: np.ndarray  # (groups, bins) quantile q_lo of actual / forecast
    upper: np.ndarray  # (groups, bins) quantile q_hi of actual / forecast
    zero_upper: np.ndarray  # (groups,) q_hi of actual / curve where the forecast is 0

    def apply(self, amount: np.ndarray, curve: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bands of ``amount`` (..., groups, horizon) given the ``curve`` (groups, horizon)."""
        relative = np.divide(amount, curve, out=np.zeros_like(amount), where=curve > 0)
        # bin index: how many of the group's edges the relative level passes
        bins = (relative[..., None] > self.edges[:, None, :]).sum(axis=-1)
        group = np.arange(self.edges.shape[0])[:, None]
        lower = amount * self.lower[group, bins]
        upper = amount * self.upper[group, bins]
        zero = amount <= 0
        upper = np.where(zero, self.zero_upper[:, None] * curve, upper)
        return np.where(zero, 0.0, lower), upper


@dataclass(frozen=True)
class Forecast:
    """Amounts and bands per entity, category and month, and per entity and month in total."""

    months: list[pd.Timestamp]
    amount: np.ndarray  # (entities, categories, horizon)
    lower: np.ndarray
    upper: np.ndarray
    total: np.ndarray  # (entities, horizon)
    total_lower: np.ndarray
    total_upper: np.ndarray


@dataclass(frozen=True)
class SpendingParams:
    """Everything the forecast needs, fitted once: curves (cumulated), level weights and bands."""

    config: SpendingConfig
    categories: tuple[str, ...]
    start: pd.Timestamp  # day 0 of the curves
    cut: pd.Timestamp  # end of the training data: the default as_of
    reference_cum: np.ndarray  # (categories, days + 1): cumulated observed-then-forecast totals
    fitted_cum: np.ndarray  # (categories, days + 1): cumulated Prophet curve
    weights: np.ndarray  # (categories, windows)
    bands: Bands
    total_bands: Bands

    def window_totals(self, as_of: pd.Timestamp) -> np.ndarray:
        """(categories, windows) population spend over each trailing window before ``as_of``."""
        end = self._day(as_of)
        starts = [max(end - days, 0) for days in self.config.windows_days]
        return np.stack([self.reference_cum[:, end] - self.reference_cum[:, s] for s in starts], axis=1)

    def month_curve(self, months: list[pd.Timestamp]) -> np.ndarray:
        """(categories, len(months)) the curve's total over each month."""
        spans = [(self._day(m), self._day(m + pd.DateOffset(months=1))) for m in months]
        return np.stack([self.fitted_cum[:, b] - self.fitted_cum[:, a] for a, b in spans], axis=1)

    def _day(self, when: pd.Timestamp) -> int:
        day = int(np.rint((pd.Timestamp(when) - self.start) / _DAY))
        last = self.fitted_cum.shape[1] - 1
        if day > last:
            reach = (self.start + last * _DAY).date()
            raise DataError(f"the model's curves reach {reach}; {when} is past them: retrain the model")
        return max(day, 0)

    def save(self, path: Path) -> None:
        """Write the parameters to one ``.npz`` file (arrays, and the rest as JSON)."""
        meta = {
            "config": self.config.to_json(),
            "categories": list(self.categories),
            "start": self.start.isoformat(),
            "cut": self.cut.isoformat(),
        }
        arrays = {"reference_cum": self.reference_cum, "fitted_cum": self.fitted_cum, "weights": self.weights}
        for prefix, bands in (("bands", self.bands), ("total_bands", self.total_bands)):
            arrays.update({f"{prefix}_{name}": getattr(bands, name) for name in _BAND_FIELDS})
        arrays["meta"] = np.array(json.dumps(meta))
        np.savez_compressed(path, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: Path) -> SpendingParams:
        """Read parameters written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            meta: dict[str, Any] = json.loads(str(data["meta"]))
            arrays = {name: np.asarray(data[name]) for name in data.files if name != "meta"}

        def bands(prefix: str) -> Bands:
            return Bands(**{name: arrays[f"{prefix}_{name}"] for name in _BAND_FIELDS})

        return cls(
            config=SpendingConfig.from_json(meta["config"]),
            categories=tuple(meta["categories"]),
            start=pd.Timestamp(meta["start"]),
            cut=pd.Timestamp(meta["cut"]),
            reference_cum=arrays["reference_cum"],
            fitted_cum=arrays["fitted_cum"],
            weights=arrays["weights"],
            bands=bands("bands"),
            total_bands=bands("total_bands"),
        )


_BAND_FIELDS = ("edges", "lower", "upper", "zero_upper")


def first_month(as_of: pd.Timestamp) -> pd.Timestamp:
    """The first whole calendar month starting at or after ``as_of``."""
    stamp = pd.Timestamp(as_of)
    return (stamp - pd.Timedelta(1, "ns")).to_period("M").to_timestamp() + pd.DateOffset(months=1)


def relative_levels(levels: np.ndarray, window_totals: np.ndarray) -> np.ndarray:
    """(entities, categories, windows) each window's spend over the population's (0 where it is 0)."""
    denominator = np.broadcast_to(window_totals[None, :, :], levels.shape)
    out: np.ndarray = np.divide(levels, denominator, out=np.zeros_like(levels), where=denominator > 0)
    return out


def point_forecast(relative: np.ndarray, weights: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """(entities, categories, horizon) weighted relative level times the month curve, at least 0."""
    level = np.maximum((relative * weights[None, :, :]).sum(axis=2), 0.0)
    out: np.ndarray = level[:, :, None] * curve[None, :, :]
    return out


def forecast_cube(params: SpendingParams, levels: np.ndarray, as_of: pd.Timestamp, horizon: int) -> Forecast:
    """Forecast ``horizon`` months after ``as_of`` for each entity of ``levels`` (entities, cats, windows)."""
    start = first_month(as_of)
    months = [start + pd.DateOffset(months=h) for h in range(horizon)]
    curve = params.month_curve(months)
    relative = relative_levels(levels, params.window_totals(as_of))
    amount = point_forecast(relative, params.weights, curve)
    lower, upper = params.bands.apply(amount, curve)
    total = amount.sum(axis=1)
    total_lower, total_upper = params.total_bands.apply(total[:, None, :], curve.sum(axis=0)[None, :])
    return Forecast(months, amount, lower, upper, total, total_lower[:, 0, :], total_upper[:, 0, :])
