"""The online feature store: one behaviour, checked on SQLite and on the real Redis."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import redis
from prometheus_client import CollectorRegistry

from nivesh_ml.config import Settings
from nivesh_ml.errors import FeatureStoreError, OnlineStoreUnavailable
from nivesh_ml.features.online import (
    OnlineStore,
    RedisStore,
    SQLiteStore,
    ViewKey,
    make_online_store,
    normalize_row,
    sqlite_store,
)
from nivesh_ml.features.online.redis_store import EVICTION_GRACE, mask_url

MakeStore = Callable[..., OnlineStore]
VIEW = ViewKey("user_financial_profile", 1)
HOUR = timedelta(hours=1)

ROW: dict[str, Any] = {
    "txn_count_30d": 42,
    "avg_balance": 18_250.75,
    "ratio": 0.1,
    "has_loan": True,
    "is_salaried": False,
    "city": "Pune",
    "last_emi": None,
    "monthly_spend": [12_000, 13_500.5, 9_800],
    "category_share": {"food": 0.31, "rent": {"share": 0.4, "months": [1, 2]}},
    "big": 2**62,
    "negative": -7,
}


def now() -> datetime:
    return datetime.now(UTC)


def put(store: OnlineStore, rows: dict[str, dict[str, Any]], view: ViewKey = VIEW, **kwargs: Any) -> int:
    kwargs.setdefault("ttl", HOUR)
    kwargs.setdefault("event_time", now())
    return store.put_many(view, rows, **kwargs)


def put_expiring(store: OnlineStore, rows: dict[str, dict[str, Any]]) -> datetime:
    """Write rows with ttl=1 s that were computed 0.5 s ago; when they expire."""
    event_time = now() - timedelta(seconds=0.5)
    put(store, rows, ttl=timedelta(seconds=1), event_time=event_time)
    return event_time + timedelta(seconds=1)


def sleep_past(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - now()).total_seconds()) + 0.05)


def requests_total(registry: CollectorRegistry, backend: str, op: str, result: str) -> float:
    value = registry.get_sample_value(
        "nivesh_feature_store_requests_total", {"backend": backend, "op": op, "result": result}
    )
    return value or 0.0


# --- values ----------------------------------------------------------------------------------


def test_a_row_comes_back_with_its_types(store: OnlineStore) -> None:
    assert put(store, {"u1": ROW}) == 1
    got = store.get(VIEW, "u1")
    assert got == ROW
    assert got is not None
    for name, value in ROW.items():
        assert type(got[name]) is type(value), name
    assert type(got["monthly_spend"][1]) is float
    assert type(got["category_share"]["rent"]["months"][0]) is int


def test_numpy_and_pandas_values_are_made_plain(store: OnlineStore) -> None:
    frame = pd.DataFrame(
        {
            "txns": np.array([3], dtype=np.int64),
            "score": np.array([0.25], dtype=np.float32),
            "flag": np.array([True]),
            "gap": [np.nan],
            "seen": [pd.Timestamp("2024-03-01 10:30", tz="Asia/Kolkata")],
            "never": [pd.NaT],
        }
    )
    row = frame.iloc[0].to_dict() | {"na": pd.NA, "vector": np.array([1.5, 2.5])}
    put(store, {"u1": row})
    got = store.get(VIEW, "u1")
    assert got == {
        "txns": 3,
        "score": 0.25,
        "flag": True,
        "gap": None,
        "seen": "2024-03-01T10:30:00+05:30",
        "never": None,
        "na": None,
        "vector": [1.5, 2.5],
    }
    assert got == normalize_row(row)  # what training applies is what serving reads
    assert type(got["txns"]) is int
    assert type(got["flag"]) is bool


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ({"amount": object()}, "feature 'amount' has a value of type object"),
        ({"amount": 1 + 2j}, "feature 'amount' has a value of type complex"),
        ({"amount": 2**70}, "feature 'amount': int .* does not fit"),
        ({"nested": {1: "x"}}, "feature 'nested': nested dict key 1"),
        ({"__event_time__": 1}, "bad feature name"),
        ({"": 1}, "bad feature name"),
    ],
)
def test_a_value_the_store_cannot_hold_is_refused_by_name(
    store: OnlineStore, row: dict[str, Any], match: str
) -> None:
    with pytest.raises(FeatureStoreError, match=match):
        put(store, {"u1": row})
    assert store.get(VIEW, "u1") is None


def test_bad_write_arguments_are_refused(store: OnlineStore) -> None:
    with pytest.raises(FeatureStoreError, match="timezone-aware"):
        put(store, {"u1": ROW}, event_time=datetime(2024, 1, 1))  # naive
    with pytest.raises(FeatureStoreError, match="positive timedelta"):
        put(store, {"u1": ROW}, ttl=timedelta(0))
    with pytest.raises(FeatureStoreError, match="bad entity id"):
        put(store, {"": ROW})
    with pytest.raises(FeatureStoreError, match="not the str"):
        store.get(VIEW, "u1", features="city")
    with pytest.raises(FeatureStoreError, match="reserved"):
        store.get(VIEW, "u1", features=["__expires_at__"])


# --- reads ------------------------------------------------------------------------------------


def test_a_missing_entity_is_none(store: OnlineStore) -> None:
    assert store.get(VIEW, "nobody") is None
    assert store.get_many(VIEW, []) == []
    assert store.stats().misses == 1


def test_get_many_keeps_the_order_of_present_missing_and_expired(store: OnlineStore) -> None:
    expires = put_expiring(store, {"old1": {"x": 1}, "old2": {"x": 2}})
    put(store, {"a": {"x": 10}, "b": {"x": 20}})
    sleep_past(expires)
    rows = store.get_many(VIEW, ["b", "old1", "ghost", "a", "old2", "b"])
    assert rows == [{"x": 20}, None, None, {"x": 10}, None, {"x": 20}]
    stats = store.stats()
    assert (stats.hits, stats.misses, stats.expired) == (3, 1, 2)


def test_a_row_expires_after_its_ttl(store: OnlineStore) -> None:
    expires = put_expiring(store, {"u1": ROW})
    assert store.get(VIEW, "u1") == ROW
    assert store.event_time(VIEW, "u1") is not None
    sleep_past(expires)
    assert store.get(VIEW, "u1") is None
    assert store.get(VIEW, "u1", features=["city"]) is None
    assert store.event_time(VIEW, "u1") is None
    assert list(store.entity_ids(VIEW)) == []
    assert store.stats().expired == 2


def test_a_batch_already_expired_is_not_written(store: OnlineStore) -> None:
    assert put(store, {"u1": ROW}, ttl=HOUR, event_time=now() - 2 * HOUR) == 0
    assert store.get(VIEW, "u1") is None
    assert store.stats().writes == 0


def test_a_batch_of_2000_entities_goes_in_chunks(store: OnlineStore) -> None:
    rows = {f"user-{i:05d}": {"i": i, "score": i / 7, "band": "ABC"[i % 3]} for i in range(2_000)}
    assert put(store, rows) == 2_000
    ids = [*reversed(rows), "ghost"]
    got = store.get_many(VIEW, ids)
    assert got == [*(rows[entity] for entity in reversed(rows)), None]
    assert store.get_many(VIEW, ids, features=["i"])[:2] == [{"i": 1_999}, {"i": 1_998}]
    assert sorted(store.entity_ids(VIEW)) == sorted(rows)
    assert store.stats().writes == 2_000


def test_versions_of_a_view_never_see_each_other(store: OnlineStore) -> None:
    v2 = ViewKey(VIEW.name, 2)
    other = ViewKey("user_spending_profile", 1)
    put(store, {"u1": {"x": 1}, "u2": {"x": 1}})
    put(store, {"u1": {"x": 2}}, view=v2)
    assert store.get(VIEW, "u1") == {"x": 1}
    assert store.get(v2, "u1") == {"x": 2}
    assert store.get(v2, "u2") is None
    assert store.get(other, "u1") is None
    assert sorted(store.entity_ids(VIEW)) == ["u1", "u2"]
    assert list(store.entity_ids(v2)) == ["u1"]
    assert store.delete(v2, ["u1", "u2"]) == 1
    assert store.get(VIEW, "u1") == {"x": 1}


def test_a_subset_of_features_is_returned_when_asked(store: OnlineStore) -> None:
    put(store, {"u1": ROW})
    assert store.get(VIEW, "u1", features=["city", "has_loan", "not_stored"]) == {
        "city": "Pune",
        "has_loan": True,
    }
    assert store.get(VIEW, "u1", features=[]) == {}
    assert store.get_many(VIEW, ["ghost", "u1"], features=["last_emi"]) == [None, {"last_emi": None}]


def test_a_write_replaces_the_whole_row(store: OnlineStore) -> None:
    put(store, {"u1": {"a": 1, "b": 2}})
    put(store, {"u1": {"b": 3}})
    assert store.get(VIEW, "u1") == {"b": 3}


def test_delete_and_entity_ids(store: OnlineStore) -> None:
    put(store, {"u1": ROW, "u2": ROW, "u:3": ROW, "u*4": ROW})
    assert sorted(store.entity_ids(VIEW)) == ["u*4", "u1", "u2", "u:3"]
    assert store.delete(VIEW, ["u1", "u:3", "ghost", "u1"]) == 2
    assert store.get(VIEW, "u1") is None
    assert sorted(store.entity_ids(VIEW)) == ["u*4", "u2"]
    assert store.delete(VIEW, []) == 0
    assert store.stats().deletes == 2


def test_event_time_is_kept_apart_from_the_features(store: OnlineStore) -> None:
    at = datetime(2030, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
    put(store, {"u1": ROW}, event_time=pd.Timestamp(at).tz_convert("Asia/Kolkata"))
    assert store.event_time(VIEW, "u1") == at
    assert store.get(VIEW, "u1") == ROW
    assert store.event_time(VIEW, "ghost") is None


# --- concurrency --------------------------------------------------------------------------------


def test_concurrent_writers_leave_whole_rows(make_store: MakeStore) -> None:
    stores = [make_store(), make_store()]  # two stores on one file or prefix, as two processes
    shared = [f"shared-{i}" for i in range(200)]

    def writer(number: int) -> None:
        store = stores[number % 2]
        for round_ in range(5):
            own = {f"w{number}-{i}": {"writer": number, "i": i} for i in range(100)}
            both = {entity: {"writer": number, "round": round_, "i": i} for i, entity in enumerate(shared)}
            store.put_many(VIEW, own | both, ttl=HOUR, event_time=now())

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    reader = stores[0]
    for number in range(4):
        own = reader.get_many(VIEW, [f"w{number}-{i}" for i in range(100)])
        assert own == [{"writer": number, "i": i} for i in range(100)]
    for i, row in enumerate(reader.get_many(VIEW, shared)):
        assert row is not None
        assert row == {"writer": row["writer"], "round": 4, "i": i}
    assert len(set(reader.entity_ids(VIEW))) == 4 * 100 + 200


# --- stats, metrics, health --------------------------------------------------------------------


def test_stats_and_prometheus_metrics_move(make_store: MakeStore, backend: str) -> None:
    registry = CollectorRegistry()
    store = make_store(registry=registry)
    put(store, {"u1": ROW, "u2": ROW})
    store.get(VIEW, "u1")
    store.get_many(VIEW, ["u1", "u2", "ghost"])
    store.delete(VIEW, ["u2"])

    stats = store.stats()
    assert (stats.hits, stats.misses, stats.expired, stats.writes, stats.deletes) == (3, 1, 0, 2, 1)
    assert stats.hit_rate == 0.75
    assert 0 < stats.read_p50_ms <= stats.read_p99_ms
    assert requests_total(registry, backend, "put_many", "write") == 2
    assert requests_total(registry, backend, "get", "hit") == 1
    assert requests_total(registry, backend, "get_many", "hit") == 2
    assert requests_total(registry, backend, "get_many", "miss") == 1
    assert requests_total(registry, backend, "delete", "delete") == 1
    labels = {"backend": backend, "op": "get_many"}
    assert registry.get_sample_value("nivesh_feature_store_latency_seconds_count", labels) == 1
    fast = registry.get_sample_value("nivesh_feature_store_latency_seconds_bucket", labels | {"le": "0.0005"})
    assert fast is not None  # a sub-millisecond bucket exists


def test_stores_may_share_one_registry(make_store: MakeStore, backend: str) -> None:
    registry = CollectorRegistry()
    first, second = make_store(registry=registry), make_store(registry=registry)
    put(first, {"u1": ROW})
    first.get(VIEW, "u1")
    second.get(VIEW, "u1")
    assert requests_total(registry, backend, "get", "hit") == 2
    assert first.stats().hits == second.stats().hits == 1


def test_health_is_ok(store: OnlineStore, backend: str) -> None:
    health = store.health()
    assert health.ok
    assert health.backend == backend == store.backend
    assert health.latency_ms >= 0
    assert isinstance(store, OnlineStore)


def test_a_closed_store_refuses_calls(store: OnlineStore) -> None:
    store.close()
    with pytest.raises(FeatureStoreError, match="closed"):
        store.get(VIEW, "u1")


# --- Redis specifics ----------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_keeps_one_hash_per_entity_with_a_ttl(
    redis_store: RedisStore, redis_client: redis.Redis
) -> None:
    store = redis_store
    put(store, {"u1": {"x": 1, "city": "Pune"}}, ttl=timedelta(seconds=1))
    key = f"{store.prefix}:user_financial_profile:v1:u1"
    assert store.key(VIEW, "u1") == key
    assert sorted(redis_client.hkeys(key)) == [b"__event_time__", b"__expires_at__", b"city", b"x"]
    grace_ms = EVICTION_GRACE // timedelta(milliseconds=1)
    assert 0 < redis_client.pttl(key) <= 1_000 + grace_ms
    time.sleep(1.05)
    assert redis_client.exists(key) == 1  # not evicted yet, but no longer served
    assert store.get(VIEW, "u1") is None
    assert store.stats().expired == 1


def test_an_unreachable_redis_raises_and_health_says_so() -> None:
    store = RedisStore("redis://:s3cret@127.0.0.1:6390/0", prefix="nivesh:test:down", timeout_s=0.5)
    try:
        for call in (
            lambda: store.get(VIEW, "u1"),
            lambda: store.get_many(VIEW, ["u1", "u2"]),
            lambda: put(store, {"u1": ROW}),
            lambda: list(store.entity_ids(VIEW)),
        ):
            with pytest.raises(OnlineStoreUnavailable) as caught:
                call()
            message = str(caught.value)
            assert "redis://:***@127.0.0.1:6390/0" in message
            assert "check that the server is running" in message
            assert "s3cret" not in message
            assert "\n" not in message
        health = store.health()
        assert not health.ok
        assert health.backend == "redis"
        assert "127.0.0.1:6390" in health.detail
        assert store.stats().errors == 4
    finally:
        store.close()


def test_a_redis_that_never_answers_times_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never replies
        port = silent.getsockname()[1]
        store = RedisStore(f"redis://127.0.0.1:{port}/0", timeout_s=0.2)
        try:
            with pytest.raises(OnlineStoreUnavailable, match="TimeoutError"):
                store.get(VIEW, "u1")
            assert not store.health().ok
        finally:
            store.close()


def test_redis_url_passwords_are_masked() -> None:
    assert mask_url("redis://user:pw@host:6379/0") == "redis://user:***@host:6379/0"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert mask_url("unix:///tmp/redis.sock?db=0&password=pw") == "unix:///tmp/redis.sock?db=0&password=***"


# --- SQLite specifics -----------------------------------------------------------------------------


def test_sqlite_file_is_wal_and_without_rowid(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "features" / "online.sqlite"
    store = SQLiteStore(path)
    try:
        put(store, {"u1": ROW})
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            sql = connection.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'online_features'"
            ).fetchone()[0]
        connection.close()
        assert "WITHOUT ROWID" in sql
    finally:
        store.close()


WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from nivesh_ml.features.online import SQLiteStore, ViewKey
store = SQLiteStore(Path(sys.argv[1]))
number = int(sys.argv[2])
for round_ in range(20):
    rows = {f"u{i}": {"writer": number, "round": round_} for i in range(300)}
    view = ViewKey("user_financial_profile", 1)
    store.put_many(view, rows, ttl=timedelta(hours=1), event_time=datetime.now(UTC))
store.close()
"""


def test_sqlite_writers_in_several_processes_queue_up(tmp_path: Path) -> None:
    path = tmp_path / "online.sqlite"
    store = SQLiteStore(path)
    try:
        writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(n)]) for n in range(3)]
        while any(writer.poll() is None for writer in writers):
            store.get_many(VIEW, ["u0", "u299"])  # readers are never blocked by WAL writers
        assert [writer.returncode for writer in writers] == [0, 0, 0]
        rows = store.get_many(VIEW, [f"u{i}" for i in range(300)])
        assert all(row is not None and row["round"] == 19 for row in rows)
    finally:
        store.close()


def test_sqlite_purges_expired_rows_on_a_later_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_store, "PURGE_EVERY_S", 0.0)
    path = tmp_path / "online.sqlite"
    store = SQLiteStore(path)
    try:
        sleep_past(put_expiring(store, {"old": ROW}))
        put(store, {"new": ROW})
        with sqlite3.connect(path) as connection:
            ids = [row[0] for row in connection.execute("SELECT entity_id FROM online_features")]
        connection.close()
        assert ids == ["new"]
    finally:
        store.close()


def test_an_unusable_sqlite_path_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "features").write_text("a file where the folder should be")
    with pytest.raises(OnlineStoreUnavailable, match="check that NIVESH_HOME is writable") as caught:
        SQLiteStore(tmp_path / "features" / "online.sqlite")
    assert "\n" not in str(caught.value)


# --- the public surface ---------------------------------------------------------------------------


def test_view_key_reads_as_name_and_version() -> None:
    assert str(VIEW) == "user_financial_profile:v1"
    assert ViewKey.parse("user_financial_profile:v12") == ViewKey("user_financial_profile", 12)
    for bad in (lambda: ViewKey("User Profile", 1), lambda: ViewKey("a", 0), lambda: ViewKey.parse("a:1")):
        with pytest.raises(FeatureStoreError):
            bad()


def test_the_factory_picks_the_backend_from_settings(
    make_settings: Callable[..., Settings], redis_url: str
) -> None:
    settings = make_settings()
    assert not settings.features_dir.exists()
    store = make_online_store(settings)
    try:
        assert isinstance(store, SQLiteStore)
        assert store.path == settings.features_dir / "online.sqlite"
        assert store.path.exists()
    finally:
        store.close()
    store = make_online_store(make_settings(online_store="redis", redis_url=redis_url))
    try:
        assert isinstance(store, RedisStore)
        assert store.backend == "redis"
    finally:
        store.close()
