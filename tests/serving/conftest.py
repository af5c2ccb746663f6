"""Server fixtures: a home with all six tiny models registered (once per session), users with
online features, and in-process clients of apps built on it (lifespan run, stopped after).

Tests that move aliases build their own home (``fresh_settings``), so the shared one stays put.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from nivesh_ml.config import OFFLINE_ENV, Settings, load_settings
from nivesh_ml.db import ModelPrediction, ModelRegistry, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.features.definitions import FEATURE_VIEWS
from nivesh_ml.features.online import make_online_store
from nivesh_ml.serving import ServingConfig, create_app
from nivesh_ml.tracking.store import MODEL_KEYS
from nivesh_ml.tracking.store import client as tracking_client

from .tiny_models import TinyModel, register

STATIC_KEY = "static-test-key-4f0c2b8e9a"
USERS = ("U0000001", "U0000002")
# Tests run the server with no poller, a writer that flushes often and no key cache.
FAST = ServingConfig(
    reload_interval_s=0, predlog_flush_interval_s=0.02, predlog_replay_interval_s=0.05, key_cache_ttl_s=0
)

MakeClient = Callable[..., TestClient]


def isolated_settings(home: Path, **overrides: Any) -> Settings:
    """Settings under ``home`` with the static test key, untouched by the shell's NIVESH_* variables."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("NIVESH_")]:
            patch.delenv(name)
        for name, value in OFFLINE_ENV.items():
            patch.setenv(name, value)
        values: dict[str, Any] = {"home": home, "api_keys": [STATIC_KEY], "rate_limit": "10000/minute"}
        values["trust_model_pickles"] = True  # the tiny models are pickled by value
        values.update(overrides)
        return load_settings(_env_file=None, **values)


def put_features(settings: Settings, users: tuple[str, ...] | list[str]) -> None:
    """Give ``users`` a fresh row in every feature view of the online store."""
    store = make_online_store(settings)
    try:
        for view in FEATURE_VIEWS:
            rows = {user: {"monthly_income": 85_000.0, "late_payments_12m": 0} for user in users}
            store.put_many(view.key, rows, ttl=timedelta(days=30), event_time=datetime.now(UTC))
    finally:
        store.close()


def predictions(settings: Settings) -> list[tuple[ModelPrediction, str]]:
    """Every logged prediction with the version that made it."""
    query = select(ModelPrediction, ModelRegistry.version).join(
        ModelRegistry, ModelPrediction.model_id == ModelRegistry.id
    )
    with session_scope(app_engine(settings)) as session:
        return [(row, version) for row, version in session.execute(query).all()]


def key_lookups(settings: Settings) -> Iterator[list[str]]:
    """Yields the API-key queries the app DB of ``settings`` answers until the generator is closed."""
    engine, seen = app_engine(settings), []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM api_key" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``check`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty home whose MLflow store and app DB exist (creating them is the slow part)."""
    home = tmp_path_factory.mktemp("template") / "var"
    settings = isolated_settings(home)
    tracking_client(settings).search_experiments()
    app_engine(settings)
    return home


def home_from(template: Path, home: Path) -> Path:
    """A copy of the template home at ``home``."""
    shutil.copytree(template, home)
    return home


@pytest.fixture(scope="session")
def served_settings(tmp_path_factory: pytest.TempPathFactory, template_home: Path) -> Settings:
    """A home with every model's tiny champion (v1) and features for USERS."""
    home = home_from(template_home, tmp_path_factory.mktemp("served") / "var")
    settings = isolated_settings(home)
    for key in MODEL_KEYS:
        register(settings, key, TinyModel(key, "v1"))
    put_features(settings, USERS)
    return settings


@pytest.fixture
def fresh_settings(tmp_path: Path, template_home: Path) -> Settings:
    """An empty home of this test's own (no model registered yet)."""
    return isolated_settings(home_from(template_home, tmp_path / "var"))


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """Start apps (lifespan included) on given settings; each is shut down after the test."""
    opened: list[TestClient] = []

    def make(settings: Settings, config: ServingConfig = FAST, key: str | None = STATIC_KEY) -> TestClient:
        headers = {"X-API-Key": key} if key else {}
        client = TestClient(
            create_app(settings, config=config), headers=headers, raise_server_exceptions=False
        )
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def client(served_settings: Settings, make_client: MakeClient) -> TestClient:
    """A running app on the shared home, authenticated with the static key."""
    return make_client(served_settings)


@pytest.fixture(scope="module")
def module_client(served_settings: Settings) -> Iterator[TestClient]:
    """One running app on the shared home for a whole module (tests that only read)."""
    app = create_app(served_settings, config=FAST)
    headers = {"X-API-Key": STATIC_KEY}
    with TestClient(app, headers=headers, raise_server_exceptions=False) as client:
        yield client
