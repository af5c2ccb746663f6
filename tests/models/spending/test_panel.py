"""The panel (monthly spend per user and category) and users' window levels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nivesh_ml.data.public import load_birmingham
from nivesh_ml.data.synthetic import SyntheticData
from nivesh_ml.models.spending.config import SpendingConfig
from nivesh_ml.models.spending.panel import (
    FeatureStoreLevels,
    FrameLevels,
    SpendPanel,
    build_panel,
    levels_from_features,
    spend_frame,
)
from nivesh_ml.models.transactions import BIRMINGHAM_MONTHS, birmingham_transactions


def test_panel_holds_every_debit_of_the_whole_months(small_data: SyntheticData, panel: SpendPanel) -> None:
    spend = spend_frame(small_data.transactions, panel.categories)
    assert len(panel.months) == 17
    assert panel.monthly.shape == (80, 12, 17)
    assert panel.monthly.sum() == pytest.approx(spend["amount"].sum())
    assert panel.daily.sum() == pytest.approx(spend["amount"].sum())
    groceries = spend[spend["category"] == "groceries"]["amount"].sum()
    assert panel.monthly[:, panel.category_index["groceries"]].sum() == pytest.approx(groceries)


def test_spend_leaves_out_credits_and_other_categories(small_data: SyntheticData) -> None:
    spend = spend_frame(small_data.transactions, ("groceries",))
    assert set(spend["category"]) == {"groceries"}
    tx = small_data.transactions
    expected = tx[(tx["direction"] == "debit") & (tx["category"] == "groceries")]["amount"].sum()
    assert spend["amount"].sum() == pytest.approx(expected)


def test_a_month_cut_short_is_left_out() -> None:
    spend = pd.DataFrame(
        {
            "entity": ["a", "a", "a"],
            "category": ["groceries"] * 3,
            "timestamp": pd.to_datetime(["2026-01-03", "2026-02-10", "2026-03-15"]),
            "amount": [100.0, 200.0, 300.0],
        }
    )
    panel = build_panel(spend, ("groceries",))
    assert list(panel.months) == [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01")]
    assert panel.monthly[0, 0].tolist() == [100.0, 200.0]


def test_frame_levels_equal_the_feature_store_builder(
    small_data: SyntheticData, panel: SpendPanel, levels: FeatureStoreLevels, config: SpendingConfig
) -> None:
    frame_levels = FrameLevels(
        spend_frame(small_data.transactions, panel.categories), panel, config.windows_days
    )
    for month in (3, 12, 16):
        as_of = panel.months[month]
        np.testing.assert_allclose(frame_levels.levels(as_of), levels.levels(as_of), rtol=1e-9, atol=1e-6)


def test_levels_from_a_feature_row_default_to_zero() -> None:
    row = {"spend_groceries_30d": 300.0, "spend_groceries_365d": None, "spend_rent_90d": 27_000}
    cube = levels_from_features(row, ("groceries", "rent"), (30, 90, 365))
    assert cube.tolist() == [[[300.0, 0.0, 0.0], [0.0, 27_000.0, 0.0]]]


@pytest.mark.shared_data
def test_birmingham_panel_covers_the_twelve_statements(shared_data: Path) -> None:
    tx = birmingham_transactions(load_birmingham(shared_data))
    spend = spend_frame(tx, sorted(tx["category"].unique()))
    panel = build_panel(spend, window=BIRMINGHAM_MONTHS)
    assert len(panel.months) == 12
    assert panel.months[0] == pd.Timestamp("2016-12-01")
    assert 900 < panel.entities.size <= 1_028
    assert panel.monthly.sum() == pytest.approx(
        spend[(spend["timestamp"] >= "2016-12-01") & (spend["timestamp"] < "2017-12-01")]["amount"].sum()
    )
