"""Behaviour of the spending forecast: expectations that must hold for any fitted version.

Directional: more past spend in a category never lowers that category's forecast, and doubling a
user's past spend there raises it; it leaves the other categories alone. Invariance: the same
features give the same forecast. Minimum functionality: a user who never spent in a category is
forecast nothing there; bands hold their forecast; the total is the sum of the categories.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nivesh_ml.data.synthetic import GeneratorConfig, generate
from nivesh_ml.features.builders import build_view
from nivesh_ml.features.definitions import get_view
from nivesh_ml.models.spending.config import quick_config
from nivesh_ml.models.spending.fitting import fit_params
from nivesh_ml.models.spending.model import SpendingForecaster
from nivesh_ml.models.spending.panel import FeatureStoreLevels, build_panel, spend_frame
from nivesh_ml.models.transactions import backfilled_sources

CATEGORIES = quick_config().categories


@pytest.fixture(scope="module")
def fitted() -> tuple[SpendingForecaster, list[dict[str, Any]]]:
    """A forecaster fitted on 80 users x 17 months, and 30 users' real spending_patterns rows."""
    config = quick_config()
    data = generate(GeneratorConfig(users=80, months=17, seed=11))
    sources = backfilled_sources(data.users, data.accounts, data.transactions)
    panel = build_panel(spend_frame(data.transactions, config.categories), config.categories)
    params = fit_params(
        panel, FeatureStoreLevels(sources, panel, config.windows_days), len(panel.months), config
    )
    rows = build_view(get_view("spending_patterns"), sources, panel.end).head(30).to_dict("records")
    return SpendingForecaster(params), rows


def _amounts(model: SpendingForecaster, row: dict[str, Any]) -> dict[str, float]:
    answer = model.forecast("U", 1, features=row)
    return {item["category"]: item["amount"] for item in answer["forecast"]}


@pytest.mark.parametrize("category", CATEGORIES)
def test_doubling_past_spend_in_a_category_raises_its_forecast(
    fitted: tuple[SpendingForecaster, list[dict[str, Any]]], category: str
) -> None:
    model, rows = fitted
    spenders = [row for row in rows if row[f"spend_{category}_365d"] > 0]
    assert spenders, f"no user spent on {category}"
    for row in spenders:
        doubled = {
            **row,
            **{f"spend_{category}_{d}d": 2 * row[f"spend_{category}_{d}d"] for d in (30, 90, 365)},
        }
        before, after = _amounts(model, row), _amounts(model, doubled)
        assert after[category] > before[category]
        assert after[category] == pytest.approx(2 * before[category], rel=1e-6, abs=0.02)
        assert {c: v for c, v in after.items() if c != category} == {
            c: v for c, v in before.items() if c != category
        }


@pytest.mark.parametrize("category", CATEGORIES)
def test_more_past_spend_never_lowers_the_forecast(
    fitted: tuple[SpendingForecaster, list[dict[str, Any]]], category: str
) -> None:
    model, rows = fitted
    row = rows[0]
    forecasts = [
        _amounts(model, {**row, **{f"spend_{category}_{d}d": level * d / 30 for d in (30, 90, 365)}})[
            category
        ]
        for level in np.linspace(0, 20_000, 9)
    ]
    assert forecasts == sorted(forecasts)


def test_same_features_same_forecast(fitted: tuple[SpendingForecaster, list[dict[str, Any]]]) -> None:
    model, rows = fitted
    assert model.forecast("U", 3, features=rows[1]) == model.forecast("U", 3, features=dict(rows[1]))


def test_no_history_in_a_category_forecasts_nothing_there(
    fitted: tuple[SpendingForecaster, list[dict[str, Any]]],
) -> None:
    model, rows = fitted
    row = {**rows[2], **{f"spend_shopping_{d}d": 0.0 for d in (30, 90, 365)}}
    assert _amounts(model, row)["shopping"] == 0.0


def test_bands_hold_the_forecast_and_the_total_adds_up(
    fitted: tuple[SpendingForecaster, list[dict[str, Any]]],
) -> None:
    model, rows = fitted
    for row in rows:
        answer = model.forecast("U", 3, features=row)
        for item in answer["forecast"]:
            assert 0 <= item["lower"] <= item["amount"] <= item["upper"]
        for total in answer["total"]:
            parts = sum(i["amount"] for i in answer["forecast"] if i["month"] == total["month"])
            assert total["amount"] == pytest.approx(parts, abs=0.1)
            assert total["lower"] <= total["amount"] <= total["upper"]
