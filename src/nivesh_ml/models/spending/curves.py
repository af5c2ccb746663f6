"""One Prophet model per category: the shape of the whole population's spend, day by day.

Each category's daily total is fitted with Prophet (flat growth, multiplicative yearly, monthly
and weekly seasonality; for discretionary categories also India's holidays, a Diwali-fortnight
window and a wedding-season regressor). The fitted curve, in sample and ``forecast_days`` past the
cut, is all the serving side keeps of it: a user's forecast is their own level times this curve
(:mod:`.forecast`), so nothing is fitted per user or at request time.

Categories seen on fewer than ``min_curve_days`` training days (Birmingham's small expense codes)
share one pooled curve, scaled by their share of the pool. The groups are fitted in parallel
(joblib, ``n_jobs``) behind a progress bar; Prophet and cmdstanpy are silenced.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import holidays
import numpy as np
import pandas as pd
from joblib import Parallel, delayed  # type: ignore[import-untyped]

from nivesh_ml.models.spending.config import SpendingConfig
from nivesh_ml.models.spending.panel import SpendPanel
from nivesh_ml.progress import item_progress

__all__ = ["Curves", "fit_curves", "quiet_prophet"]

_POOL = "__pooled__"
_NOISY_LOGGERS = ("cmdstanpy", "prophet", "prophet.plot", "prophet.models")


@dataclass(frozen=True)
class Curves:
    """Daily category totals: observed up to the cut, Prophet's forecast after it."""

    start: pd.Timestamp  # day 0
    cut_day: int  # first day not observed
    reference: np.ndarray  # (categories, days): observed before cut_day, fitted from it on
    fitted: np.ndarray  # (categories, days): Prophet's curve, in sample and ahead (>= 0)


def quiet_prophet() -> None:
    """Silence Prophet's and cmdstanpy's per-fit INFO chatter (called in every worker too)."""
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).disabled = True


def fit_curves(panel: SpendPanel, cut_day: int, config: SpendingConfig, title: str = "prophet") -> Curves:
    """Fit each category's (or pooled group's) curve on days ``[0, cut_day)`` of ``panel``."""
    observed = panel.daily[:, :cut_day]
    groups = _groups(observed, panel.categories, config.min_curve_days)
    series = _group_series(observed, panel.categories, groups)
    horizon = cut_day + config.forecast_days
    days = pd.date_range(panel.start, periods=horizon, freq="D")
    jobs = [
        delayed(_fit_one)(name, days[:cut_day], y, days, name in config.scheduled_categories, config)
        for name, y in series.items()
    ]
    fitted_by_group: dict[str, np.ndarray] = {}
    with item_progress(f"{title}: category curves", total=len(jobs)) as advance:
        runner = Parallel(n_jobs=config.n_jobs, return_as="generator_unordered")
        for name, yhat in runner(jobs):
            fitted_by_group[name] = yhat
            advance(1)
    fitted = _category_curves(observed, panel.categories, groups, fitted_by_group)
    reference = np.concatenate([observed, fitted[:, cut_day:]], axis=1)
    return Curves(start=panel.start, cut_day=cut_day, reference=reference, fitted=fitted)


def _groups(observed: np.ndarray, categories: tuple[str, ...], min_days: int) -> list[str]:
    """Each category's curve group: itself, or the pool when it has too few days of spend."""
    active_days = (observed > 0).sum(axis=1)
    return [cat if days >= min_days else _POOL for cat, days in zip(categories, active_days, strict=True)]


def _group_series(
    observed: np.ndarray, categories: tuple[str, ...], groups: list[str]
) -> dict[str, np.ndarray]:
    series: dict[str, np.ndarray] = {}
    for i, group in enumerate(groups):
        series[group] = series.get(group, np.zeros(observed.shape[1])) + observed[i]
    return series


def _category_curves(
    observed: np.ndarray, categories: tuple[str, ...], groups: list[str], fitted: dict[str, np.ndarray]
) -> np.ndarray:
    """Each category's curve: its group's, scaled by its share of the group's observed spend."""
    totals = dict.fromkeys(fitted, 0.0)
    for i, group in enumerate(groups):
        totals[group] += float(observed[i].sum())
    rows = []
    for i, group in enumerate(groups):
        share = float(observed[i].sum()) / totals[group] if totals[group] > 0 else 0.0
        rows.append(fitted[group] * share)
    return np.vstack(rows) if rows else np.zeros((len(categories), 0))


def _fit_one(
    name: str,
    train_days: pd.DatetimeIndex,
    y: np.ndarray,
    all_days: pd.DatetimeIndex,
    scheduled: bool,
    config: SpendingConfig,
) -> tuple[str, np.ndarray]:
    """Prophet on one daily series; returns its curve over ``all_days`` (clipped at 0)."""
    from prophet import Prophet  # heavy (cmdstan): imported in the worker that needs it

    quiet_prophet()
    festive = config.indian_seasons and not scheduled
    model = Prophet(
        growth=config.growth,
        yearly_seasonality=config.yearly_order if config.yearly_order > 0 else False,
        weekly_seasonality=config.weekly,
        daily_seasonality=False,
        seasonality_mode="multiplicative",
        holidays=_diwali_season(all_days, config) if festive else None,
        uncertainty_samples=0,  # bands come from the users' own errors, not Prophet's
    )
    if config.monthly_order > 0:
        model.add_seasonality("monthly", period=30.4375, fourier_order=config.monthly_order)
    history = pd.DataFrame({"ds": train_days, "y": y})
    future = pd.DataFrame({"ds": all_days})
    if festive:
        model.add_regressor("wedding_season", mode="multiplicative")
        history["wedding_season"] = _wedding(train_days, config)
        future["wedding_season"] = _wedding(all_days, config)
    # Prophet and the holidays package warn about their own internals (holiday years outside the
    # package's table, under-identified yearly seasonality on short history): nothing we can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if config.holidays_country and not scheduled:
            model.add_country_holidays(config.holidays_country)
        model.fit(history)
        yhat = model.predict(future)["yhat"].to_numpy(dtype=np.float64)
    return name, np.maximum(yhat, 0.0)


def _diwali_season(days: pd.DatetimeIndex, config: SpendingConfig) -> pd.DataFrame:
    """Diwali of every year the days touch, with the festive window before and after it."""
    years = range(days[0].year - 1, days[-1].year + 2)
    calendar = holidays.country_holidays("IN", years=years)
    dates = sorted(day for day, name in calendar.items() if "Diwali" in name)
    lower, upper = config.diwali_window
    return pd.DataFrame(
        {
            "holiday": "diwali_season",
            "ds": pd.to_datetime(dates),
            "lower_window": lower,
            "upper_window": upper,
        }
    )


def _wedding(days: pd.DatetimeIndex, config: SpendingConfig) -> np.ndarray:
    return np.isin(days.month, config.wedding_months).astype(np.float64)
