"""Feature view definitions: names, types, descriptions, lookup."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nivesh_ml.data.synthetic import CATEGORIES
from nivesh_ml.data.synthetic import CHANNELS as DATA_CHANNELS
from nivesh_ml.errors import FeatureStoreError
from nivesh_ml.features.definitions import (
    CHANNELS,
    FEATURE_VIEWS,
    PANDAS_DTYPES,
    SPEND_CATEGORIES,
    Feature,
    FeatureView,
    get_view,
)
from nivesh_ml.features.online import ViewKey


def test_the_three_views_at_version_one() -> None:
    assert [str(view.key) for view in FEATURE_VIEWS] == [
        "user_financial_profile:v1",
        "spending_patterns:v1",
        "transaction_stats:v1",
    ]
    assert get_view("transaction_stats").ttl == timedelta(days=2)
    assert get_view("user_financial_profile").ttl == get_view("spending_patterns").ttl == timedelta(days=35)


@pytest.mark.parametrize("view", FEATURE_VIEWS, ids=lambda view: view.name)
def test_every_feature_is_named_typed_and_described(view: FeatureView) -> None:
    assert view.columns == [feature.name for feature in view.features]
    assert len(set(view.columns)) == len(view.columns)
    assert view.entity == "user_id"
    assert view.key == ViewKey(view.name, view.version)
    for feature in view.features:
        assert feature.dtype in PANDAS_DTYPES
        assert feature.description.strip()
        assert "\n" not in feature.description
        assert feature.name == feature.name.lower()


def test_names_follow_the_windows_and_categories() -> None:
    spending = get_view("spending_patterns").columns
    assert {"spend_groceries_30d", "spend_groceries_90d", "spend_groceries_365d"} <= set(spending)
    assert {"spend_trend_emi", "spend_share_rent_365d", "top_merchants_90d"} <= set(spending)
    profile = get_view("user_financial_profile").columns
    assert {f"late_payments_{m}m" for m in (3, 6, 12)} <= set(profile)
    assert {f"overdraft_days_{m}m" for m in (3, 6, 12)} <= set(profile)
    stats = get_view("transaction_stats").dtypes
    assert stats["known_merchants_365d"] == "list[string]"
    assert stats["debit_count_1h"] == "int64"
    assert stats["debit_sum_1h"] == "float64"


def test_categories_and_channels_exist_in_the_data() -> None:
    assert set(SPEND_CATEGORIES) <= set(CATEGORIES)
    assert set(CHANNELS) == set(DATA_CHANNELS)


def test_get_view_by_version() -> None:
    assert get_view("spending_patterns", 1) is FEATURE_VIEWS[1]
    with pytest.raises(
        FeatureStoreError, match=r"spending_patterns:v9.*known views: user_financial_profile:v1"
    ):
        get_view("spending_patterns", 9)
    with pytest.raises(FeatureStoreError, match="unknown feature view 'nope'"):
        get_view("nope")


def test_bad_definitions_are_refused() -> None:
    feature = Feature("x", "int64", "an x")
    with pytest.raises(FeatureStoreError, match="lower_snake_case"):
        Feature("Bad Name", "int64", "bad")
    with pytest.raises(FeatureStoreError, match="unknown dtype"):
        Feature("x", "int32", "bad")  # type: ignore[arg-type]
    with pytest.raises(FeatureStoreError, match="unique"):
        FeatureView("v", 1, timedelta(days=1), "dup", (feature, feature))
    with pytest.raises(FeatureStoreError, match="ttl"):
        FeatureView("v", 1, timedelta(0), "no ttl", (feature,))
    with pytest.raises(FeatureStoreError, match="version"):
        FeatureView("v", 0, timedelta(days=1), "bad version", (feature,))
