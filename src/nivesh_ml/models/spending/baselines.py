"""The baselines every backtest fold is scored beside: seasonal naive and statsforecast's AutoETS.

Seasonal naive repeats the month one season earlier (with a season of 1 it is the naive
forecast: last month again). AutoETS is fitted per user and category on the monthly series up to
the origin; at about 20 ms a series it runs on a fixed random sample of users (``ets_entities``),
and its 80% intervals are kept for the coverage comparison. Series with no spend at all before
the origin are forecast 0 without a fit.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["EtsForecast", "auto_ets", "ets_sample", "seasonal_naive"]


def seasonal_naive(monthly: np.ndarray, origin: int, horizon: int, season: int) -> np.ndarray:
    """(entities, categories, horizon): each month's value one season before (or last season's last)."""
    months = [origin - season + (h % season) for h in range(horizon)]
    if min(months) < 0:
        raise ValueError(f"seasonal naive needs {season} months before the origin, got {origin}")
    return np.asarray(monthly[:, :, months], dtype=np.float64)


def ets_sample(n_entities: int, size: int, seed: int) -> np.ndarray:
    """Sorted positions of the entities AutoETS is fitted for (all when ``size >= n_entities``)."""
    if size >= n_entities:
        return np.arange(n_entities)
    return np.sort(np.random.default_rng(seed).choice(n_entities, size, replace=False))


@dataclass(frozen=True)
class EtsForecast:
    """AutoETS forecasts and 80% intervals for the sampled entities."""

    amount: np.ndarray  # (sampled entities, categories, horizon)
    lower: np.ndarray
    upper: np.ndarray


def auto_ets(
    monthly: np.ndarray,
    months: pd.DatetimeIndex,
    origin: int,
    horizon: int,
    season: int,
    n_jobs: int,
) -> EtsForecast:
    """AutoETS on each (entity, category) series of ``monthly[:, :, :origin]``, 80% intervals."""
    from statsforecast import StatsForecast  # numba-compiled: imported only when a backtest runs
    from statsforecast.models import AutoETS

    history = monthly[:, :, :origin]
    shape = (*history.shape[:2], horizon)
    flat = history.reshape(-1, origin)
    fitted = np.flatnonzero(flat.any(axis=1))
    out = [np.zeros(shape[0] * shape[1] * horizon) for _ in range(3)]
    if fitted.size:
        frame = pd.DataFrame(
            {
                "unique_id": np.repeat(fitted, origin),
                "ds": np.tile(months[:origin], fitted.size),
                "y": flat[fitted].reshape(-1),
            }
        )
        model = StatsForecast(models=[AutoETS(season_length=season)], freq="MS", n_jobs=n_jobs)
        # statsforecast warns (divide by zero) while scoring degenerate candidate models of short,
        # sparse series; the chosen model is fine, and the warning is not ours to fix.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = model.forecast(df=frame, h=horizon, level=[80])
        result = result.sort_values(["unique_id", "ds"], kind="stable")
        rows = np.repeat(fitted * horizon, horizon) + np.tile(np.arange(horizon), fitted.size)
        for target, column in zip(out, ("AutoETS", "AutoETS-lo-80", "AutoETS-hi-80"), strict=True):
            target[rows] = np.maximum(result[column].to_numpy(dtype=np.float64), 0.0)
    amount, lower, upper = (part.reshape(shape) for part in out)
    return EtsForecast(amount, lower, upper)
