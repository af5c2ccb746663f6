"""Offline build and online materialisation, on the embedded SQLite store and the real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import ensure_synthetic
from nivesh_ml.data.synthetic import GeneratorConfig
from nivesh_ml.errors import DatasetMissingError, FeatureStoreError
from nivesh_ml.features.definitions import FEATURE_VIEWS, get_view
from nivesh_ml.features.lookup import get_user_features
from nivesh_ml.features.materialize import build_features, materialize
from nivesh_ml.features.offline import OfflineStore
from nivesh_ml.features.online import OnlineStore, make_online_store

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("redis", id="redis", marks=pytest.mark.redis)]
)
def built(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]) -> Iterator[Settings]:
    """Settings whose synthetic data and offline snapshots exist, for the backend under test."""
    prefix = f"nivesh:test:{uuid.uuid4().hex[:12]}"
    settings = make_settings(online_store=request.param, redis_key_prefix=prefix, users=60, months=3)
    ensure_synthetic(settings, GeneratorConfig(users=60, months=3, seed=5))
    build_features(settings, snapshots=2)
    yield settings
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.unlink(*keys)
        client.close()


@pytest.fixture
def online(built: Settings) -> Iterator[OnlineStore]:
    store = make_online_store(built)
    yield store
    store.close()


def test_build_writes_every_view_and_skips_current_snapshots(built: Settings) -> None:
    offline = OfflineStore(built.features_dir)
    for view in FEATURE_VIEWS:
        assert len(offline.snapshots(view)) == 3  # two month starts and "latest"
    assert build_features(built, snapshots=2) == 0
    assert build_features(built, snapshots=2, force=True) == 3 * len(FEATURE_VIEWS)


def test_build_without_data_says_how_to_fix(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(DatasetMissingError, match="nivesh-ml data generate"):
        build_features(make_settings())


def test_materialize_is_incremental(built: Settings, online: OnlineStore) -> None:
    first = materialize(built, online)
    assert all(report.written == report.entities > 0 for report in first)
    again = materialize(built, online)
    assert all(report.written == 0 and report.unchanged == report.entities for report in again)
    view = get_view("user_financial_profile")
    some_user = next(iter(online.entity_ids(view.key)))
    online.delete(view.key, [some_user])  # gone online (evicted, expired): written again
    healed = {report.view: report.written for report in materialize(built, online)}
    assert healed == {str(v.key): (1 if v.name == view.name else 0) for v in FEATURE_VIEWS}
    full = materialize(built, online, full=True)
    assert all(report.written == report.entities for report in full)


def test_online_rows_equal_the_latest_offline_snapshot(built: Settings, online: OnlineStore) -> None:
    materialize(built, online)
    view = get_view("user_financial_profile")
    latest = OfflineStore(built.features_dir).read_latest(view).set_index("user_id")
    user = str(latest.index[0])
    row = online.get(view.key, user)
    assert row is not None
    assert set(row) == set(view.columns)
    for feature in view.columns:
        expected = latest.at[user, feature]
        got = row[feature]
        if expected is None or (isinstance(expected, float) and expected != expected):
            assert got is None
        elif isinstance(expected, list):
            assert got == expected
        else:
            assert got == pytest.approx(expected)
            assert type(got) is type(expected.item() if hasattr(expected, "item") else expected)


def test_lookup_returns_every_view_and_refuses_unknown_users(built: Settings, online: OnlineStore) -> None:
    materialize(built, online)
    user = next(iter(online.entity_ids(get_view("spending_patterns").key)))
    rows = get_user_features(online, user)
    assert set(rows) == {str(view.key) for view in FEATURE_VIEWS}
    with pytest.raises(FeatureStoreError, match="nivesh-ml features materialize"):
        get_user_features(online, "U9999999")
