"""Rolling-origin backtest: refit before each origin, forecast the next months, score beside baselines.

Origins are month starts ``origin_step_months`` apart, the last leaving ``horizon_months`` of
data to forecast, none with less than ``min_history_months`` behind it. At each origin the model
is fitted on the data before it only (curves, weights, bands) and forecasts months 1..H; seasonal
naive and AutoETS forecast the same cells. Metrics pool every fold:

- ``mape`` (and ``smape``): on aggregate category spend, summed over users, per category, origin
  and horizon, then averaged; ``mape_h1`` / ``mape_h<H>`` per horizon; ``agg_wape``: the same
  errors weighted by spend (sum of |error| over sum of spend), which tiny categories cannot swamp;
- ``wape``: sum |actual - forecast| / sum actual over every user, category, origin and horizon;
- ``coverage_80``: the share of user-category-months inside the 80% band (``_nonzero``: of the
  months with some spend; ``_total``: of users' monthly totals);
- ``seasonal_naive_*`` on every user, ``ets_*`` on the AutoETS sample, where ``sample_*`` gives
  the model's own figures on that same sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nivesh_ml.errors import DataError
from nivesh_ml.log import get_logger
from nivesh_ml.models.spending.baselines import auto_ets, ets_sample, seasonal_naive
from nivesh_ml.models.spending.config import SpendingConfig
from nivesh_ml.models.spending.fitting import fit_params
from nivesh_ml.models.spending.forecast import forecast_cube
from nivesh_ml.models.spending.panel import LevelSource, SpendPanel

__all__ = ["BacktestResult", "fold_origins", "run_backtest"]

log = get_logger(__name__)


@dataclass
class BacktestResult:
    """Pooled metrics, and per-origin and per-category tables for the run's artefacts."""

    metrics: dict[str, float]
    per_origin: list[dict[str, Any]] = field(default_factory=list)
    per_category: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class _Cells:
    """Stacked over folds: (folds, entities, categories, horizon) arrays."""

    actual: list[np.ndarray] = field(default_factory=list)
    model: list[np.ndarray] = field(default_factory=list)
    lower: list[np.ndarray] = field(default_factory=list)
    upper: list[np.ndarray] = field(default_factory=list)
    total_in_band: list[np.ndarray] = field(default_factory=list)
    naive: list[np.ndarray] = field(default_factory=list)
    ets: list[np.ndarray] = field(default_factory=list)
    ets_lower: list[np.ndarray] = field(default_factory=list)
    ets_upper: list[np.ndarray] = field(default_factory=list)

    def stack(self, name: str) -> np.ndarray:
        return np.stack(getattr(self, name))


def fold_origins(panel: SpendPanel, config: SpendingConfig) -> list[int]:
    """Month indices of the origins, oldest first."""
    last = len(panel.months) - config.horizon_months
    wanted = [last - i * config.origin_step_months for i in range(config.origins)]
    kept = sorted(o for o in wanted if o >= max(config.min_history_months, config.season_length, 1))
    if not kept:
        raise DataError(
            f"{len(panel.months)} months cannot hold a backtest: need {config.min_history_months} "
            f"of history and {config.horizon_months} to forecast"
        )
    return kept


def run_backtest(
    panel: SpendPanel, source: LevelSource, config: SpendingConfig, *, baselines: bool = True
) -> BacktestResult:
    """Fit, forecast and score at every origin (see the module docstring)."""
    sample = ets_sample(panel.entities.size, config.ets_entities, config.seed)
    cells, per_origin = _Cells(), []
    for origin in fold_origins(panel, config):
        fold = _run_fold(panel, source, config, origin, sample if baselines else None)
        for name, value in fold.items():
            getattr(cells, name).append(value)
        per_origin.append({"origin": str(panel.months[origin].date()), **_fold_summary(fold, sample)})
        log.info("backtest fold", extra=per_origin[-1])
    metrics = _metrics(cells, sample, config, baselines)
    return BacktestResult(metrics, per_origin, _per_category(cells, sample, panel.categories, baselines))


def _run_fold(
    panel: SpendPanel, source: LevelSource, config: SpendingConfig, origin: int, sample: np.ndarray | None
) -> dict[str, np.ndarray]:
    horizon = config.horizon_months
    as_of = panel.months[origin]
    params = fit_params(panel, source, origin, config, title=f"origin {as_of.date()}")
    forecast = forecast_cube(params, source.levels(as_of), as_of, horizon)
    actual = panel.monthly[:, :, origin : origin + horizon]
    total = actual.sum(axis=1)
    fold = {
        "actual": actual,
        "model": forecast.amount,
        "lower": forecast.lower,
        "upper": forecast.upper,
        "total_in_band": (total >= forecast.total_lower) & (total <= forecast.total_upper),
    }
    if sample is not None:
        fold["naive"] = seasonal_naive(panel.monthly, origin, horizon, config.season_length)
        ets = auto_ets(
            panel.monthly[sample], panel.months, origin, horizon, config.season_length, config.n_jobs
        )
        fold.update(ets=ets.amount, ets_lower=ets.lower, ets_upper=ets.upper)
    return fold


def _fold_summary(fold: dict[str, np.ndarray], sample: np.ndarray) -> dict[str, float]:
    out = {
        "mape": _mape(fold["actual"][None], fold["model"][None]),
        "wape": _wape(fold["actual"], fold["model"]),
    }
    if "naive" in fold:
        out["seasonal_naive_wape"] = _wape(fold["actual"], fold["naive"])
        out["ets_wape"] = _wape(fold["actual"][sample], fold["ets"])
        out["sample_wape"] = _wape(fold["actual"][sample], fold["model"][sample])
    return out


def _metrics(cells: _Cells, sample: np.ndarray, config: SpendingConfig, baselines: bool) -> dict[str, float]:
    actual, model = cells.stack("actual"), cells.stack("model")
    last = config.horizon_months
    out = _scores("", actual, model, last)
    lower, upper = cells.stack("lower"), cells.stack("upper")
    out["coverage_80"] = _coverage(actual, lower, upper)
    spent = actual > 0  # zero months inside a band that starts at 0 are easy: the share without them
    out["coverage_80_nonzero"] = float(((actual >= lower) & (actual <= upper))[spent].mean())
    out["coverage_80_total"] = float(cells.stack("total_in_band").mean())
    out.update(
        folds=float(actual.shape[0]), entities=float(actual.shape[1]), categories=float(actual.shape[2])
    )
    if not baselines:
        return out
    naive = cells.stack("naive")
    out.update(_scores("seasonal_naive_", actual, naive, last))
    sampled = actual[:, sample]
    out.update(_scores("sample_", sampled, model[:, sample], last))
    out.update(_scores("sample_seasonal_naive_", sampled, naive[:, sample], last))
    out.update(_scores("ets_", sampled, cells.stack("ets"), last))
    out["sample_coverage_80"] = _coverage(
        sampled, cells.stack("lower")[:, sample], cells.stack("upper")[:, sample]
    )
    out["ets_coverage_80"] = _coverage(sampled, cells.stack("ets_lower"), cells.stack("ets_upper"))
    out["ets_entities"] = float(sample.size)
    out["season_length"] = float(config.season_length)
    out["wape_gain_vs_seasonal_naive"] = 1.0 - out["wape"] / out["seasonal_naive_wape"]
    out["wape_gain_vs_ets"] = 1.0 - out["sample_wape"] / out["ets_wape"]
    return out


def _scores(prefix: str, actual: np.ndarray, forecast: np.ndarray, last: int) -> dict[str, float]:
    """mape, smape, wape overall and at horizons 1 and ``last``; arrays are (folds, E, C, H)."""
    out = {
        f"{prefix}mape": _mape(actual, forecast),
        f"{prefix}smape": _mape(actual, forecast, symmetric=True),
        f"{prefix}agg_wape": _wape(actual.sum(axis=1), forecast.sum(axis=1)),
        f"{prefix}wape": _wape(actual, forecast),
    }
    for h in sorted({1, last}):
        out[f"{prefix}mape_h{h}"] = _mape(actual[..., h - 1 : h], forecast[..., h - 1 : h])
        out[f"{prefix}wape_h{h}"] = _wape(actual[..., h - 1], forecast[..., h - 1])
    return out


def _mape(actual: np.ndarray, forecast: np.ndarray, *, symmetric: bool = False) -> float:
    """Mean absolute percentage error of the totals over entities, per fold, category and horizon."""
    a, f = actual.sum(axis=1), forecast.sum(axis=1)
    if symmetric:
        den = (np.abs(a) + np.abs(f)) / 2
        keep = den > 0
        return float(np.mean(np.abs(f[keep] - a[keep]) / den[keep])) if keep.any() else float("nan")
    keep = a > 0
    return float(np.mean(np.abs(f[keep] - a[keep]) / a[keep])) if keep.any() else float("nan")


def _wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    total = float(np.abs(actual).sum())
    return float(np.abs(actual - forecast).sum()) / total if total > 0 else float("nan")


def _coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    return float(((actual >= lower) & (actual <= upper)).mean())


def _per_category(
    cells: _Cells, sample: np.ndarray, categories: tuple[str, ...], baselines: bool
) -> dict[str, dict[str, float]]:
    actual, model = cells.stack("actual"), cells.stack("model")
    naive = cells.stack("naive") if baselines else None
    ets = cells.stack("ets") if baselines else None
    out: dict[str, dict[str, float]] = {}
    for c, name in enumerate(categories):
        row = {
            "wape": _wape(actual[:, :, c], model[:, :, c]),
            "mape": _mape(actual[:, :, c : c + 1], model[:, :, c : c + 1]),
        }
        if naive is not None and ets is not None:
            row["seasonal_naive_wape"] = _wape(actual[:, :, c], naive[:, :, c])
            row["sample_wape"] = _wape(actual[:, sample, c], model[:, sample, c])
            row["ets_wape"] = _wape(actual[:, sample, c], ets[:, :, c])
        out[name] = row
    return out
