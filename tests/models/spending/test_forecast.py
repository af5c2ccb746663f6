"""The forecast arithmetic, the fitted parameters, and their file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nivesh_ml.errors import DataError
from nivesh_ml.models.spending.config import SpendingConfig
from nivesh_ml.models.spending.fitting import fit_params
from nivesh_ml.models.spending.forecast import Bands, SpendingParams, first_month, forecast_cube
from nivesh_ml.models.spending.levels import _constrained_lstsq, training_examples
from nivesh_ml.models.spending.panel import FeatureStoreLevels, SpendPanel


@pytest.fixture(scope="module")
def params(panel: SpendPanel, levels: FeatureStoreLevels, config: SpendingConfig) -> SpendingParams:
    return fit_params(panel, levels, len(panel.months), config)


@pytest.mark.parametrize(
    ("as_of", "month"),
    [
        ("2026-11-01 00:00:00", "2026-11-01"),
        ("2026-10-31 23:59:59", "2026-11-01"),
        ("2026-11-15 12:00:00", "2026-12-01"),
    ],
)
def test_first_month_is_the_first_whole_month(as_of: str, month: str) -> None:
    assert first_month(pd.Timestamp(as_of)) == pd.Timestamp(month)


def test_constrained_least_squares_recovers_weights_summing_to_one() -> None:
    rng = np.random.default_rng(0)
    single = rng.gamma(2.0, 100.0, (500, 3))
    weights = np.array([0.2, 0.3, 0.5])
    actual = single @ weights + rng.normal(0, 1, 500)
    fitted = _constrained_lstsq(single, actual)
    assert fitted.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(fitted, weights, atol=0.02)


def test_weights_sum_to_one_and_bands_are_ordered(params: SpendingParams) -> None:
    np.testing.assert_allclose(params.weights.sum(axis=1), 1.0)
    assert (params.bands.lower <= params.bands.upper).all()
    assert (np.diff(params.bands.edges, axis=1) >= 0).all()


def test_forecast_sums_to_the_category_curve(
    params: SpendingParams, panel: SpendPanel, levels: FeatureStoreLevels
) -> None:
    """With weights summing to 1, the users' forecasts add up to the category curve (coherence)."""
    as_of = panel.end
    forecast = forecast_cube(params, levels.levels(as_of), as_of, 2)
    curve = params.month_curve(forecast.months)
    summed = forecast.amount.sum(axis=0)
    # clipping negative blends at 0 can only add: the sum is the curve or a hair above
    assert np.all(summed >= curve * 0.999)
    np.testing.assert_allclose(summed, curve, rtol=0.05)
    assert (forecast.lower <= forecast.amount + 1e-9).all()
    assert (forecast.amount <= forecast.upper + 1e-9).all()
    np.testing.assert_allclose(forecast.total, forecast.amount.sum(axis=1))


def test_parameters_survive_their_file(params: SpendingParams, tmp_path: Path) -> None:
    path = tmp_path / "params.npz"
    params.save(path)
    loaded = SpendingParams.load(path)
    assert loaded.config == params.config
    assert loaded.categories == params.categories
    assert loaded.cut == params.cut
    np.testing.assert_array_equal(loaded.fitted_cum, params.fitted_cum)
    np.testing.assert_array_equal(loaded.bands.upper, params.bands.upper)


def test_an_instant_past_the_curves_is_refused(params: SpendingParams) -> None:
    with pytest.raises(DataError, match="retrain"):
        params.window_totals(params.cut + pd.Timedelta(days=3 * 365))


def test_training_examples_stop_before_the_cut(panel: SpendPanel, levels: FeatureStoreLevels) -> None:
    config = SpendingConfig(weight_history_months=2)
    examples = training_examples(panel, levels, 10, config)
    # snapshots at months 9 and 8: targets 9 (h1), 8 and 9 (h1, h2) -> 3 blocks of users
    assert examples.actual.shape == (3 * panel.entities.size, len(panel.categories))
    assert sorted(set(examples.horizon.tolist())) == [1, 2]


def test_bands_apply_by_bin() -> None:
    bands = Bands(
        edges=np.array([[1.0]]),
        lower=np.array([[0.5, 0.8]]),
        upper=np.array([[2.0, 1.2]]),
        zero_upper=np.array([0.3]),
    )
    amount = np.array([[[50.0, 200.0, 0.0]]])
    lower, upper = bands.apply(amount, np.array([[100.0, 100.0, 100.0]]))
    assert lower.tolist() == [[[25.0, 160.0, 0.0]]]
    assert upper.tolist() == [[[100.0, 240.0, 30.0]]]
