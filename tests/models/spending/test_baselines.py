"""Seasonal naive and AutoETS baselines, and the fold origins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nivesh_ml.errors import DataError
from nivesh_ml.models.spending.backtest import fold_origins
from nivesh_ml.models.spending.baselines import auto_ets, ets_sample, seasonal_naive
from nivesh_ml.models.spending.config import SpendingConfig, birmingham_config
from nivesh_ml.models.spending.panel import SpendPanel


def test_seasonal_naive_repeats_last_season() -> None:
    monthly = np.arange(20, dtype=float).reshape(1, 1, 20)
    assert seasonal_naive(monthly, 14, 3, 12)[0, 0].tolist() == [2.0, 3.0, 4.0]
    assert seasonal_naive(monthly, 14, 3, 1)[0, 0].tolist() == [13.0, 13.0, 13.0]
    with pytest.raises(ValueError, match="needs 12 months"):
        seasonal_naive(monthly, 5, 3, 12)


def test_auto_ets_forecasts_nonnegative_and_skips_empty_series() -> None:
    rng = np.random.default_rng(1)
    monthly = rng.gamma(3.0, 100.0, (4, 2, 15))
    monthly[0, 1] = 0.0
    months = pd.date_range("2025-01-01", periods=15, freq="MS")
    ets = auto_ets(monthly, months, 12, 3, 1, n_jobs=1)
    assert ets.amount.shape == (4, 2, 3)
    assert (ets.amount >= 0).all()
    assert ets.amount[0, 1].tolist() == [0.0, 0.0, 0.0]
    assert (ets.lower <= ets.amount + 1e-9).all()
    assert (ets.amount <= ets.upper + 1e-9).all()


def test_ets_sample_is_fixed_and_bounded() -> None:
    assert ets_sample(10, 20, 0).tolist() == list(range(10))
    first, again = ets_sample(1000, 50, 3), ets_sample(1000, 50, 3)
    assert first.tolist() == again.tolist()
    assert len(set(first.tolist())) == 50


def test_origins_step_back_from_the_end(panel: SpendPanel) -> None:
    config = SpendingConfig(origins=3, origin_step_months=1, min_history_months=12)
    assert fold_origins(panel, config) == [12, 13, 14]
    with pytest.raises(DataError, match="cannot hold a backtest"):
        fold_origins(panel, SpendingConfig(min_history_months=20))


def test_birmingham_backtests_on_a_shorter_year() -> None:
    config = birmingham_config()
    assert config.season_length == 1
    assert config.yearly_order == 0
    assert config.origins >= 3
