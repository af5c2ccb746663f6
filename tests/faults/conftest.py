"""Fault-test fixtures: a private PostgreSQL and a private Redis to stop, start, freeze and thaw.

``postgres_server`` and ``redis_server`` yield a running server of the test's own (see
``servers.py``: ``.url``, ``.stop()``, ``.start()``, ``.freeze()``, ``.thaw()``), or skip
with the reason when this machine cannot run one. ``fault_template`` is a home with tiny models
and online features, made once per session; ``fault_settings`` copies it for a test and points
its app DB at the test's PostgreSQL.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from nivesh_ml.config import Settings

from ..serving.conftest import isolated_settings
from .harness import make_home, with_database
from .servers import PostgresServer, RedisServer, postgres_unavailable, redis_unavailable


@pytest.fixture
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL of this test's own (initdb in a temporary folder, a free port)."""
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A running Redis of this test's own (no persistence, a free port)."""
    reason = redis_unavailable()
    if reason is not None:
        pytest.skip(reason)
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def fault_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with tiny intent and credit-risk champions and online features (made once)."""
    home = tmp_path_factory.mktemp("fault-template") / "var"
    make_home(home)
    return home


@pytest.fixture
def fault_settings(fault_template: Path, tmp_path: Path, postgres_server: PostgresServer) -> Settings:
    """A copy of the template home whose app DB is this test's PostgreSQL."""
    home = tmp_path / "var"
    shutil.copytree(fault_template, home)
    return with_database(isolated_settings(home), postgres_server.url)
