"""Feature views at serve time: their age on /ready and /metrics, 503 naming an expired view, and
the background refresh of the embedded store."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nivesh_ml.config import Settings
from nivesh_ml.features.definitions import FEATURE_VIEWS, get_view
from nivesh_ml.features.materialize import materialize
from nivesh_ml.features.online import OnlineStore, make_online_store
from nivesh_ml.features.refresh import refresh
from nivesh_ml.serving import state as state_module

from ..features.snapshots import write_snapshots
from .conftest import USERS, MakeClient, home_from, isolated_settings, wait_for
from .tiny_models import TinyModel, register

HOUR = timedelta(hours=1)
STATS = get_view("transaction_stats")
TXN = {
    "user_id": USERS[0],
    "amount": 450.0,
    "merchant": "Swiggy",
    "category": "food_delivery",
    "timestamp": "2026-01-15T20:30:00+05:30",
    "channel": "UPI",
}
AGE = 'nivesh_feature_view_age_seconds{view="transaction_stats:v1"}'


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, template_home: Path) -> Path:
    """A home with the three models that read features (the others are not registered)."""
    home = home_from(template_home, tmp_path_factory.mktemp("views") / "var")
    settings = isolated_settings(home)
    for key in ("spending", "anomaly", "credit-risk"):
        register(settings, key, TinyModel(key, "v1"))
    return home


@pytest.fixture
def settings(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The module's home with no features online nor offline (the refresher off unless a test sets it)."""
    monkeypatch.setattr(state_module, "AGE_CHECK_INTERVAL_S", 0.0)  # no caching of the views' ages
    monkeypatch.setattr(state_module, "EMPTY_CHECK_INTERVAL_S", 0.0)
    shutil.rmtree(home / "features", ignore_errors=True)
    settings = isolated_settings(home, feature_refresh_interval_s=0)
    write_snapshots(settings, USERS, datetime(2026, 1, 1, tzinfo=UTC))
    yield settings
    shutil.rmtree(home / "features", ignore_errors=True)


@pytest.fixture
def online(settings: Settings) -> Iterator[OnlineStore]:
    store = make_online_store(settings)
    yield store
    store.close()


def _materialize_with_expired_stats(settings: Settings, online: OnlineStore) -> None:
    """The other views fresh; transaction_stats as three days without a refresh leave it: no rows,
    its age past the TTL."""
    materialize(settings, online, views=[view for view in FEATURE_VIEWS if view != STATS])
    online.mark_refreshed(STATS.key, datetime.now(UTC) - 3 * 24 * HOUR)


def _sample(client: TestClient, series: str) -> float | None:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def test_ready_and_the_gauge_report_each_views_age(
    settings: Settings, online: OnlineStore, make_client: MakeClient
) -> None:
    materialize(settings, online, as_of=datetime.now(UTC) - 47 * HOUR)  # transaction_stats: 1 h left
    client = make_client(settings)
    response = client.get("/ready")
    assert response.status_code == 200
    store = response.json()["components"]["online_store"]
    assert set(store["view_age_s"]) == {str(view.key) for view in FEATURE_VIEWS}
    assert all(age == pytest.approx(47 * 3600, abs=60) for age in store["view_age_s"].values())
    assert store["expired_views"] == []
    age = _sample(client, AGE)
    assert age == pytest.approx(47 * 3600, abs=60)
    assert _sample(client, 'nivesh_feature_view_ttl_seconds{view="transaction_stats:v1"}') == 2 * 24 * 3600


def test_an_expired_view_is_503_naming_it_on_the_routes_that_read_it(
    settings: Settings, online: OnlineStore, make_client: MakeClient
) -> None:
    _materialize_with_expired_stats(settings, online)
    client = make_client(settings)

    answer = client.post("/predict/anomaly", json={"transaction": TXN})
    assert answer.status_code == 503
    assert answer.json()["message"] == (
        "the online view transaction_stats:v1 has expired for this user; run `nivesh-ml features refresh`"
    )
    credit = client.post("/predict/credit-risk", json={"user_id": USERS[0]})
    assert credit.status_code == 200  # its view is fresh
    unknown = client.post("/predict/credit-risk", json={"user_id": "U9999999"})
    assert unknown.status_code == 404  # the views are fresh: an unknown user is unknown
    stranger = client.post("/predict/anomaly", json={"transaction": {**TXN, "user_id": "U9999999"}})
    assert stranger.status_code == 503  # the view expired for everyone: cannot tell who is known
    assert "transaction_stats:v1 has expired; run `nivesh-ml features refresh`" in stranger.json()["message"]

    ready = client.get("/ready")
    assert ready.status_code == 200  # the other routes serve on; the report tells the truth
    store = ready.json()["components"]["online_store"]
    assert store["expired_views"] == ["transaction_stats:v1"]
    assert store["view_age_s"]["transaction_stats:v1"] >= 3 * 24 * 3600
    assert "expired views: transaction_stats:v1; run `nivesh-ml features refresh`" in store["detail"]

    refresh(settings, online, as_of=datetime.now(UTC))
    assert client.post("/predict/anomaly", json={"transaction": TXN}).status_code == 200
    assert client.get("/ready").json()["components"]["online_store"]["expired_views"] == []


def test_the_server_refreshes_the_embedded_store_in_the_background(
    settings: Settings, online: OnlineStore, make_client: MakeClient
) -> None:
    materialize(settings, online, as_of=datetime.now(UTC) - 10 * HOUR)  # not due at start-up
    client = make_client(settings.model_copy(update={"feature_refresh_interval_s": 0.05}))
    wait_for(lambda: (_sample(client, AGE) or 1e9) < 600)  # refreshed: the age fell from 10 h
    assert (_sample(client, 'nivesh_feature_refresh_runs_total{result="ok"}') or 0) >= 1
    row = online.event_time(STATS.key, USERS[0])
    assert row is not None
    assert datetime.now(UTC) - row < timedelta(minutes=1)


def test_a_server_started_late_refreshes_at_once_and_0_switches_it_off(
    settings: Settings, online: OnlineStore, make_client: MakeClient
) -> None:
    materialize(settings, online, as_of=datetime.now(UTC) - 30 * HOUR)  # past half of two days
    off = make_client(settings)  # feature_refresh_interval_s=0
    time.sleep(0.3)
    assert _sample(off, AGE) == pytest.approx(30 * 3600, abs=60)
    late = make_client(settings.model_copy(update={"feature_refresh_interval_s": 3600}))
    wait_for(lambda: (_sample(late, AGE) or 1e9) < 600)


def test_a_failed_background_refresh_is_counted_and_serving_goes_on(
    settings: Settings, online: OnlineStore, make_client: MakeClient
) -> None:
    materialize(settings, online)
    shutil.rmtree(settings.features_dir / STATS.name)  # its offline snapshots are gone
    client = make_client(settings.model_copy(update={"feature_refresh_interval_s": 0.05}))
    wait_for(lambda: (_sample(client, 'nivesh_feature_refresh_runs_total{result="error"}') or 0) >= 1)
    assert client.post("/predict/anomaly", json={"transaction": TXN}).status_code == 200
