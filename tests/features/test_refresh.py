"""The refresh that keeps online views inside their TTL, on the embedded SQLite store and the real Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from nivesh_ml.config import Settings
from nivesh_ml.features.definitions import FEATURE_VIEWS, Feature, FeatureView, get_view
from nivesh_ml.features.materialize import materialize
from nivesh_ml.features.online import OnlineStore, make_online_store
from nivesh_ml.features.refresh import expired_views, refresh, view_ages

from .conftest import unlink_prefix
from .snapshots import write_snapshots

USERS = [f"U{i:07d}" for i in range(1, 6)]
STATS = get_view("transaction_stats")  # the shortest TTL: two days
HOUR = timedelta(hours=1)


@pytest.fixture(
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("redis", id="redis", marks=pytest.mark.redis)]
)
def settings(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]) -> Iterator[Settings]:
    """Settings of the backend under test, whose offline snapshots hold USERS."""
    prefix = f"nivesh:test:{uuid.uuid4().hex[:12]}"
    settings = make_settings(online_store=request.param, redis_key_prefix=prefix)
    client = request.getfixturevalue("redis_client") if request.param == "redis" else None
    write_snapshots(settings, USERS, datetime(2026, 1, 1, tzinfo=UTC))
    yield settings
    if client is not None:
        unlink_prefix(client, prefix)


@pytest.fixture
def online(settings: Settings) -> Iterator[OnlineStore]:
    store = make_online_store(settings)
    yield store
    store.close()


def test_refresh_extends_every_rows_expiry_and_records_the_views_age(
    settings: Settings, online: OnlineStore
) -> None:
    now = datetime.now(UTC)
    materialize(settings, online, as_of=now - 47 * HOUR)  # transaction_stats has an hour left
    later = now + 2 * HOUR
    assert expired_views(view_ages(online, as_of=later)) == [str(STATS.key)]  # without a refresh

    reports = {report.view: report for report in refresh(settings, online, as_of=now)}

    stats = reports[str(STATS.key)]
    assert (stats.written, stats.extended) == (0, len(USERS))  # nothing changed: every row extended
    assert stats.age_before_s == pytest.approx(47 * 3600)
    assert stats.age_after_s == 0.0
    assert not stats.expired_before
    assert all(report.extended == len(USERS) for report in reports.values())
    assert expired_views(view_ages(online, as_of=later)) == []
    for user in USERS:
        event_time = online.event_time(STATS.key, user)
        assert event_time is not None
        assert abs(event_time - now) < timedelta(milliseconds=1)
        assert online.get(STATS.key, user) is not None
    assert online.refreshed_at(STATS.key) == online.event_time(STATS.key, USERS[0])


def test_refresh_rewrites_changed_and_missing_rows_from_the_latest_snapshot(
    settings: Settings, online: OnlineStore
) -> None:
    now = datetime.now(UTC)
    materialize(settings, online, as_of=now - 30 * HOUR)
    write_snapshots(settings, USERS, datetime(2026, 1, 2, tzinfo=UTC), overrides={USERS[0]: 7.0})
    online.delete(STATS.key, [USERS[1]])  # evicted, or the store lost it

    reports = {report.view: report for report in refresh(settings, online, as_of=now)}

    stats = reports[str(STATS.key)]
    assert (stats.written, stats.extended) == (2, len(USERS) - 2)
    assert stats.snapshot_as_of == datetime(2026, 1, 2)
    row = online.get(STATS.key, USERS[0])
    assert row is not None
    assert row["debit_amount_mean_365d"] == 7.0
    assert online.get(STATS.key, USERS[1]) is not None
    assert {report.written for view, report in reports.items() if view != str(STATS.key)} == {1}


def test_a_view_never_refreshed_has_an_unknown_age_not_an_expired_one(online: OnlineStore) -> None:
    ages = view_ages(online, as_of=datetime.now(UTC))
    assert ages == dict.fromkeys((str(view.key) for view in FEATURE_VIEWS), None)
    assert expired_views(ages) == []  # unknown is reported as unknown, not as expired


def test_touch_never_moves_a_row_back_nor_revives_a_missing_one(online: OnlineStore) -> None:
    now = datetime.now(UTC)
    online.put_many(STATS.key, {"a": {"x": 1}}, ttl=STATS.ttl, event_time=now)
    assert online.touch(STATS.key, ["a", "ghost"], ttl=STATS.ttl, event_time=now - HOUR) == 1
    event_time = online.event_time(STATS.key, "a")
    assert event_time is not None
    assert abs(event_time - now) < timedelta(milliseconds=1)  # not moved back an hour
    assert online.get(STATS.key, "ghost") is None
    online.mark_refreshed(STATS.key, now)
    online.mark_refreshed(STATS.key, now - HOUR)
    refreshed = online.refreshed_at(STATS.key)
    assert refreshed is not None
    assert abs(refreshed - now) < timedelta(milliseconds=1)


PROBE = FeatureView(
    name="refresh_probe",
    version=1,
    ttl=timedelta(seconds=1),
    description="A view that lives one second.",
    features=(Feature("debit_amount", "float64", "An amount."),),
)


def test_a_view_expires_without_refresh_and_not_with_it(settings: Settings, online: OnlineStore) -> None:
    write_snapshots(settings, USERS, datetime(2026, 1, 1, tzinfo=UTC), views=[PROBE])
    materialized = datetime.now(UTC) - timedelta(seconds=0.6)  # 0.4 s left
    materialize(settings, online, views=[PROBE], as_of=materialized)
    refresh(settings, online, views=[PROBE], as_of=datetime.now(UTC))
    time.sleep(max(0.0, (materialized + PROBE.ttl - datetime.now(UTC)).total_seconds()) + 0.05)
    assert all(online.get(PROBE.key, user) is not None for user in USERS)  # refreshed: alive
    time.sleep(1.0)  # no refresh since: it expires
    assert all(online.get(PROBE.key, user) is None for user in USERS)
    assert expired_views(view_ages(online, as_of=datetime.now(UTC), views=[PROBE]), [PROBE]) == [
        "refresh_probe:v1"
    ]
