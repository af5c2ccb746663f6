"""Online store fixtures: every test runs on a SQLite file and on the real Redis.

Redis tests write under one key prefix per test session, ``nivesh:test:<uuid>``, with a
sub-prefix per test so tests never see each other's rows; every key under the session prefix
is unlinked at the end. Select only the embedded backend with ``-m "not redis"``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client import CollectorRegistry

from nivesh_ml.features.online import OnlineStore, RedisStore, SQLiteStore

REDIS_URL = os.environ.get("NIVESH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

MakeStore = Callable[..., OnlineStore]


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    """A plain client on the test Redis, for looking at keys the store wrote."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        pytest.fail(f"no Redis at {REDIS_URL}: {error} (deselect these tests with -m 'not redis')")
    yield client
    client.close()


@pytest.fixture(scope="session")
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """This session's key prefix; every key under it is unlinked at the end."""
    prefix = f"nivesh:test:{uuid.uuid4().hex[:12]}"
    yield prefix
    unlink_prefix(redis_client, prefix)


def unlink_prefix(client: redis.Redis, prefix: str) -> int:
    """Unlink every key under ``prefix`` (SCAN + UNLINK); how many there were."""
    removed = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1_000):
        batch.append(key)
        if len(batch) == 500:
            removed += client.unlink(*batch)
            batch = []
    if batch:
        removed += client.unlink(*batch)
    return removed


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("redis", id="redis", marks=pytest.mark.redis),
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test."""
    return str(request.param)


@pytest.fixture
def make_store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    """A factory of stores of ``backend`` on one SQLite file or one Redis prefix; all closed at the end.

    Two stores from it see the same rows (like two processes); each has its own registry
    unless one is passed.
    """
    made: list[OnlineStore] = []
    path = tmp_path / "features" / "online.sqlite"
    prefix = f"{request.getfixturevalue('redis_prefix')}:{uuid.uuid4().hex[:8]}" if backend == "redis" else ""

    def make(registry: CollectorRegistry | None = None) -> OnlineStore:
        store: OnlineStore
        if backend == "sqlite":
            store = SQLiteStore(path, registry=registry)
        else:
            store = RedisStore(REDIS_URL, prefix=prefix, registry=registry)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(make_store: MakeStore) -> OnlineStore:
    """A fresh, empty store of the backend under test."""
    return make_store()


@pytest.fixture
def redis_url() -> str:
    """The test Redis (``NIVESH_TEST_REDIS_URL``, default the local one)."""
    return REDIS_URL


@pytest.fixture
def redis_store(redis_prefix: str) -> Iterator[RedisStore]:
    """A RedisStore on its own prefix under the session's, whatever backend other tests use."""
    store = RedisStore(REDIS_URL, prefix=f"{redis_prefix}:{uuid.uuid4().hex[:8]}")
    yield store
    store.close()
