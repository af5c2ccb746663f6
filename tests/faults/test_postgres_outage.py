"""The app DB (a private PostgreSQL) stopped and frozen under traffic: no answered prediction is
lost, keys seen before keep working, unknown keys get 503 (never 500), made-up keys cost little.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import select

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelPrediction
from nivesh_ml.db.app import app_engine
from nivesh_ml.serving import create_key
from nivesh_ml.serving.keys import KEYS_UNAVAILABLE

from ..serving.conftest import FAST, key_lookups
from .harness import WEIRD_USER, ServedApp, outage, run_outage
from .servers import PostgresServer

# The writer flushes and replays often, so a test waits seconds, not the production 30 s.
QUICK = replace(FAST, predlog_flush_interval_s=0.05, predlog_replay_interval_s=0.2)


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        pytest.param("stop", QUICK, id="stop"),
        # a small queue, so the frozen writer's queue overflows and the overflow is replayed too
        pytest.param("freeze", replace(QUICK, predlog_queue_size=50), id="freeze"),
    ],
)
def test_every_answered_prediction_is_recorded_once_across_an_outage(
    fault_settings: Settings,
    postgres_server: PostgresServer,
    kind: str,
    config: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert isinstance(config, type(QUICK))
    with ServedApp(fault_settings, config) as app:
        row = run_outage(app.url, postgres_server, fault_settings.home, kind, seconds=4, rate=80)
    assert row.answered >= 100
    assert row.spilled > 0  # the outage was felt: predictions went to the spill file
    assert (row.recorded, row.quarantined, row.lost) == (row.answered, 0, 0), row
    assert set(row.refused) <= {422}, row.refused  # only a NaN body the schemas may refuse
    rows = _rows(fault_settings)
    weird = [r.input_data for r in rows if r.user_id == WEIRD_USER]
    assert weird
    assert all(
        features["monthly_income"] == "Infinity" and features["note"] == "ab"
        for data in weird
        for features in data["features"].values()
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "an error was logged"


def _rows(settings: Settings) -> list[ModelPrediction]:
    with app_engine(settings).connect() as connection:
        return list(connection.execute(select(ModelPrediction)).all())  # type: ignore[arg-type]


def _post(http: httpx.Client, key: str) -> httpx.Response:
    return http.post("/predict/intent", json={"query": "hi"}, headers={"X-API-Key": key})


@pytest.mark.parametrize("kind", ["stop", "freeze"])
def test_during_an_outage_a_known_key_works_and_an_unknown_one_gets_503(
    fault_settings: Settings, postgres_server: PostgresServer, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = fault_settings.model_copy(update={"api_key_lookup_timeout_s": 0.5})
    known, unknown = create_key(settings, "known"), create_key(settings, "unknown")
    with ServedApp(settings, QUICK) as app, httpx.Client(base_url=app.url, timeout=30) as http:
        assert _post(http, known).status_code == 200  # QUICK has no key cache: the DB said yes
        with caplog.at_level(logging.WARNING), outage(postgres_server, kind):
            answers = [(_post(http, known), _post(http, unknown)) for _ in range(5)]
            listing = http.get("/models", headers={"X-API-Key": unknown})  # a GET: checked in deps.py
        for cached, refused in answers:
            assert cached.status_code == 200
            assert refused.status_code == 503
            assert refused.json() == {"error": "unavailable", "message": KEYS_UNAVAILABLE}
            assert refused.headers["Retry-After"] == "5"
        assert (listing.status_code, listing.headers.get("Retry-After")) == (503, "5")
        warnings = [r for r in caplog.records if r.name == "nivesh_ml.serving.keys"]
        assert len(warnings) == 1  # one line per outage
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        deadline = time.monotonic() + 15  # the DB is back: the unknown key is looked up again
        while _post(http, unknown).status_code != 200:
            assert time.monotonic() < deadline, "the unknown key was never accepted after the outage"
            time.sleep(0.1)


@pytest.fixture
def lookups(fault_settings: Settings) -> Iterator[list[str]]:
    """Every query on the ``api_key`` table the server's engine sends while the test runs."""
    yield from key_lookups(fault_settings)


def test_a_thousand_made_up_keys_cost_a_handful_of_db_lookups(
    fault_settings: Settings, lookups: list[str]
) -> None:
    statuses: dict[int, int] = {}
    with ServedApp(fault_settings, QUICK) as app, httpx.Client(base_url=app.url, timeout=30) as http:
        for _ in range(1_000):
            bogus = f"nvk_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
            status = _post(http, bogus).status_code
            statuses[status] = statuses.get(status, 0) + 1
    limit = fault_settings.auth_failures_per_minute
    assert statuses == {401: limit, 429: 1_000 - limit}
    assert len(lookups) <= limit
