"""An app DB outage under traffic, counted: the served app, its traffic, and the fault table.

:func:`make_home` registers tiny intent and credit-risk champions (``tests/serving/tiny_models.py``)
and online features, among them a user whose features carry an infinity and a NUL character.
:class:`ServedApp` runs the real app under uvicorn in a thread; :class:`ServerProcess` runs
``python -m nivesh_ml.serving``. :class:`Traffic` sends a steady mix of predictions (some with
NaN or NUL in them) and keeps every answer; :func:`run_outage` stops or freezes the private
PostgreSQL under that traffic and returns a :class:`FaultRow`: what was answered, recorded in
``model_prediction``, spilled, replayed, quarantined and lost. ``loadtest/faults.py`` prints it.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from nivesh_ml.config import OFFLINE_ENV, Settings
from nivesh_ml.db import ModelPrediction
from nivesh_ml.db.session import make_engine
from nivesh_ml.features.definitions import FEATURE_VIEWS
from nivesh_ml.features.online import make_online_store
from nivesh_ml.serving import ServingConfig, create_app

from ..serving.conftest import STATIC_KEY, USERS, isolated_settings, put_features
from ..serving.tiny_models import TinyModel, register
from .servers import PostgresServer, free_port

WEIRD_USER = "U0000099"  # online features with an infinity and a NUL character
# Each client sends these in turn: plain ones, features from the store with inf and NUL, a body
# with NaN (refused 4xx once the request schemas reject NaN: then it is not an answer), a NUL.
REQUESTS: tuple[tuple[str, str], ...] = (
    ("/predict/intent", json.dumps({"query": "what is my balance"})),
    ("/predict/credit-risk", json.dumps({"user_id": WEIRD_USER})),
    ("/predict/credit-risk", json.dumps({"features": {"monthly_income": math.nan, "note": "a\x00b"}})),
    ("/predict/intent", json.dumps({"query": "hello\x00world"})),
    ("/predict/credit-risk", json.dumps({"user_id": USERS[0]})),
)


def make_home(home: Path) -> Settings:
    """A home with tiny intent and credit-risk champions and online features (see the docstring)."""
    settings = isolated_settings(home)
    for key in ("intent", "credit-risk"):
        register(settings, key, TinyModel(key, "v1"))
    put_features(settings, USERS)
    store = make_online_store(settings)
    try:
        weird = {WEIRD_USER: {"monthly_income": math.inf, "late_payments_12m": 0, "note": "a\x00b"}}
        for view in FEATURE_VIEWS:
            store.put_many(view.key, weird, ttl=timedelta(days=30), event_time=datetime.now(UTC))
    finally:
        store.close()
    return settings


class ServedApp:
    """The app on ``settings`` under uvicorn in a thread of this process, on a free port."""

    def __init__(self, settings: Settings, config: ServingConfig) -> None:
        self.app = create_app(settings, config=config)
        self.url = f"http://127.0.0.1:{free_port()}"
        port = int(self.url.rsplit(":", 1)[1])
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + 120
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(60)


class ServerProcess:
    """``python -m nivesh_ml.serving`` on ``settings`` (given as NIVESH_* variables), one worker."""

    def __init__(self, settings: Settings, log_path: Path, **env: str) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        variables = {name: value for name, value in os.environ.items() if not name.startswith("NIVESH_")}
        variables.update(OFFLINE_ENV)
        variables.update({
            "NIVESH_HOME": str(settings.home), "NIVESH_DATABASE_URL": settings.database_url,
            "NIVESH_HOST": "127.0.0.1", "NIVESH_PORT": self.url.rsplit(":", 1)[1],
            "NIVESH_API_KEYS": json.dumps([STATIC_KEY]), "NIVESH_RATE_LIMIT": settings.rate_limit,
            "NIVESH_TRUST_MODEL_PICKLES": "true", "NIVESH_LOG_FORMAT": "json", **env,
        })  # fmt: skip
        self._log = log_path.open("wb")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "nivesh_ml.serving"], env=variables, stdout=self._log, stderr=self._log
        )

    def __enter__(self) -> ServerProcess:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and self._process.poll() is None:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"the server did not start; see {self._log.name}")

    def __exit__(self, *_exc: object) -> None:
        self._process.terminate()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)
        self._log.close()


@dataclass
class Traffic:
    """``clients`` threads sending :data:`REQUESTS` in turn at ``rate`` requests/s in all."""

    url: str
    rate: float = 100.0
    clients: int = 4
    key: str = STATIC_KEY
    answers: list[tuple[int, str | None]] = field(default_factory=list)  # (status, prediction_id)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Traffic:
        self.started = time.monotonic()
        for number in range(self.clients):
            thread = threading.Thread(target=self._client, args=(number,), name=f"traffic-{number}")
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        self.seconds = time.monotonic() - self.started

    def _client(self, number: int) -> None:
        period = self.clients / self.rate
        headers = {"X-API-Key": self.key, "Content-Type": "application/json"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as http:
            turn = number
            while not self._stop.is_set():
                began = time.monotonic()
                path, body = REQUESTS[turn % len(REQUESTS)]
                turn += 1
                try:
                    response = http.post(path, content=body)
                    answer = (response.status_code, response.json().get("prediction_id"))
                except (httpx.HTTPError, ValueError):
                    answer = (0, None)
                with self._lock:
                    self.answers.append(answer)
                self._stop.wait(max(0.0, period - (time.monotonic() - began)))

    def answered(self) -> list[str]:
        """The prediction ids of the 200 answers."""
        return [pid for status, pid in self.answers if status == 200 and pid is not None]


@dataclass(frozen=True)
class FaultRow:
    """One outage under traffic, counted."""

    outage: str
    rate: float
    answered: int
    recorded: int
    spilled: int
    replayed: int
    quarantined: int
    lost: int
    refused: dict[int, int]  # non-200 answers by status (0: no answer at all)

    def cells(self) -> list[str]:
        """The row of the BENCHMARKS table."""
        figures = (self.answered, self.recorded, self.spilled, self.replayed, self.quarantined, self.lost)
        return [self.outage, f"{self.rate:.0f}", *(f"{n:,}" for n in figures)]


def predlog_counts(url: str) -> dict[str, float]:
    """``nivesh_predlog_records_total`` by result, from the server's ``/metrics``."""
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=10).text):
        for sample in family.samples:
            if sample.name == "nivesh_predlog_records_total":
                counts[sample.labels["result"]] = sample.value
    return counts


def recorded(pg_url: str, ids: list[str]) -> list[str]:
    """Which of ``ids`` are rows of ``model_prediction`` (each id once: it is the primary key)."""
    engine = make_engine(pg_url)
    try:
        with engine.connect() as connection:
            found = {str(value) for value in connection.scalars(select(ModelPrediction.id))}
    finally:
        engine.dispose()
    return [pid for pid in ids if pid in found]


def quarantined_ids(home: Path) -> set[str]:
    """The prediction ids in ``<home>/spill/quarantine.jsonl``."""
    path = home / "spill" / "quarantine.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return {str(json.loads(line)["row"].get("id")) for line in lines}


@contextmanager
def outage(pg: PostgresServer, kind: str) -> Iterator[None]:
    """PostgreSQL stopped (``stop``) or frozen (``freeze``) for the block, then back."""
    if kind == "stop":
        pg.stop()
    else:
        pg.freeze()
    try:
        yield
    finally:
        if kind == "stop":
            pg.start()
        else:
            pg.thaw()


def run_outage(
    url: str,
    pg: PostgresServer,
    home: Path,
    kind: str,
    seconds: float = 4.0,
    rate: float = 100.0,
    settle_s: float = 30.0,
    counts: Callable[[str], dict[str, float]] = predlog_counts,
) -> FaultRow:
    """Traffic for 1 s, ``kind`` outage for ``seconds``, 1 s more; wait until the log settles."""
    before = counts(url)
    with Traffic(url, rate=rate) as traffic:
        time.sleep(1.0)
        with outage(pg, kind):
            time.sleep(seconds)
        time.sleep(1.0)
    ids = traffic.answered()
    assert len(ids) == len(set(ids)), "a prediction id was answered twice"
    deadline, found = time.monotonic() + settle_s, []
    while time.monotonic() < deadline:
        found = recorded(pg.url, ids)
        if len(found) + len(quarantined_ids(home) & set(ids)) == len(ids):
            break
        time.sleep(0.2)
    after = counts(url)
    delta = {name: int(after.get(name, 0) - before.get(name, 0)) for name in after}
    refused: dict[int, int] = {}
    for status, _ in traffic.answers:
        if status != 200:
            refused[status] = refused.get(status, 0) + 1
    quarantined = len(quarantined_ids(home) & set(ids))
    return FaultRow(
        outage=f"{kind} {seconds:g} s",
        rate=len(traffic.answers) / traffic.seconds,
        answered=len(ids),
        recorded=len(found),
        spilled=delta.get("spilled", 0) + delta.get("overflow", 0),
        replayed=delta.get("replayed", 0),
        quarantined=quarantined,
        lost=len(ids) - len(found) - quarantined,
        refused=refused,
    )


def with_database(settings: Settings, url: str, **overrides: Any) -> Settings:
    """``settings`` with the app DB at ``url`` (and other changes)."""
    return settings.model_copy(update={"database_url": url, **overrides})
