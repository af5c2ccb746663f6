"""The online store's Redis (a private one) stopped, restarted empty and frozen under traffic.

Readiness tells the truth at every moment; a route that reads a user's features answers 503
while they are out of reach (never 404 for a user the store merely lost, never 500) and does not
hang on a frozen server; the routes that need no features keep answering 200 (their rate limit,
also in this Redis, lets them through); every answered prediction is in ``model_prediction`` once.
Run with ``-s`` to see the fault table (docs/BENCHMARKS.md, "Faults: Redis outages").
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelPrediction
from nivesh_ml.db.app import app_engine
from nivesh_ml.serving import state as state_module

from ..serving.conftest import FAST, STATIC_KEY, USERS, isolated_settings, put_features, wait_for
from ..serving.tiny_models import TinyModel, register
from .harness import ServedApp
from .servers import RedisServer

TRANSACTION = {
    "user_id": USERS[0], "amount": 1_200.0, "merchant": "Croma", "category": "shopping",
    "timestamp": "2025-03-14T02:17:00+05:30", "channel": "card",
}  # fmt: skip
# Each client sends these in turn: three routes that read the user's online features, two that do not.
REQUESTS: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("POST", "/predict/credit-risk", {"user_id": USERS[0]}),
    ("POST", "/predict/intent", {"query": "what is my balance"}),
    ("POST", "/predict/spending", {"user_id": USERS[1], "horizon_months": 2}),
    ("POST", "/predict/ner", {"text": "Paid 1,200 to Swiggy via UPI"}),
    ("POST", "/predict/anomaly", {"transaction": TRANSACTION}),
)
USER_ROUTES = frozenset({"/predict/credit-risk", "/predict/spending", "/predict/anomaly"})
READY = (("GET", "/ready", None),)
# Shorter than production's 5 s, so readiness comes back soon after the features are put again.
# It would also be how long a stale "the store holds features" answer could outlive a restart
# that emptied Redis, but the server drops that answer when it sees the store fail (state.py),
# and this traffic sees every outage: so no slack is allowed for it below.
EMPTY_CHECK_INTERVAL_S = 1.0
# SIGSTOP lands at once, but a reply Redis was already writing may still arrive just after it.
SIGNAL_SLACK_S = 0.05


@dataclass(frozen=True)
class Answer:
    """One request: when it was sent and answered (monotonic seconds), and what came back."""

    path: str
    sent: float
    done: float
    status: int  # 0: no answer at all
    prediction_id: str | None = None
    message: str = ""
    store_ok: bool | None = None  # /ready's online_store.ok


@dataclass(frozen=True)
class Window:
    """A span of time during which the store could not serve features."""

    name: str
    start: float
    end: float

    def holds(self, answer: Answer) -> bool:
        """Whether the whole request, sent to answered, fell inside the window."""
        return self.start < answer.sent and answer.done < self.end


@dataclass
class Recorder:
    """``clients`` threads, each sending ``requests`` in turn every ``period_s`` (or as soon as its
    last one is answered, when that takes longer), keeping every answer."""

    url: str
    requests: Sequence[tuple[str, str, dict[str, Any] | None]]
    clients: int = 1
    period_s: float = 0.1
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Recorder:
        for number in range(self.clients):
            thread = threading.Thread(target=self._client, args=(number,), name=f"recorder-{number}")
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def since(self, instant: float) -> list[Answer]:
        """The answers to requests sent after ``instant``."""
        with self._lock:
            return [answer for answer in self.answers if answer.sent > instant]

    def _client(self, number: int) -> None:
        headers = {"X-API-Key": STATIC_KEY}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as http:
            turn = number
            self._stop.wait(number * self.period_s / self.clients)  # staggered: one every period/clients
            while not self._stop.is_set():
                method, path, body = self.requests[turn % len(self.requests)]
                turn += 1
                sent = time.monotonic()
                answer = _ask(http, method, path, body, sent)
                with self._lock:
                    self.answers.append(answer)
                self._stop.wait(max(0.0, self.period_s - (time.monotonic() - sent)))


def _ask(http: httpx.Client, method: str, path: str, body: dict[str, Any] | None, sent: float) -> Answer:
    try:
        response = http.request(method, path, json=body)
        data = response.json()
    except (httpx.HTTPError, ValueError):
        return Answer(path, sent, time.monotonic(), 0)
    store = data.get("components", {}).get("online_store", {}) if path == "/ready" else {}
    return Answer(
        path, sent, time.monotonic(), response.status_code, data.get("prediction_id"),
        str(data.get("message") or store.get("detail") or ""), store.get("ok"),
    )  # fmt: skip


@pytest.fixture
def redis_settings(fault_template: Path, tmp_path: Path, redis_server: RedisServer) -> Settings:
    """A copy of the fault template with tiny intent, ner, spending, anomaly and credit-risk
    champions; its online store (and so its rate limits) is this test's Redis, under a prefix of
    its own, holding features for USERS."""
    home = tmp_path / "var"
    shutil.copytree(fault_template, home)
    settings = isolated_settings(
        home,
        online_store="redis",
        redis_url=redis_server.url,
        redis_key_prefix=f"nivesh-fault-{uuid.uuid4().hex[:8]}",
    )
    for key in ("ner", "spending", "anomaly"):  # the template has intent and credit-risk
        register(settings, key, TinyModel(key, "v1"))
    put_features(settings, USERS)
    return settings


def _ready_again(ready: Recorder, after: float, timeout: float = 15.0) -> float:
    """Wait until a /ready sent after ``after`` says 200; the instant it was sent."""
    wait_for(lambda: any(a.status == 200 for a in ready.since(after)), timeout)
    return min(a.sent for a in ready.since(after) if a.status == 200)


def _users_answered_after(traffic: Recorder, after: float, count: int = 3, timeout: float = 30.0) -> None:
    """Wait until ``count`` user-route requests sent after ``after`` have been answered (calm stretches
    are checked on what was answered in them, not on a fixed sleep a loaded machine may not fill)."""
    time.sleep(max(0.0, after - time.monotonic()))
    wait_for(lambda: sum(a.path in USER_ROUTES for a in traffic.since(after)) >= count, timeout)


def test_readiness_tells_the_truth_and_users_get_503_across_redis_outages(
    redis_settings: Settings, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state_module, "EMPTY_CHECK_INTERVAL_S", EMPTY_CHECK_INTERVAL_S)
    at: dict[str, float] = {}
    with (
        ServedApp(redis_settings, FAST) as app,
        Recorder(app.url, REQUESTS, clients=4, period_s=0.1) as traffic,
        Recorder(app.url, READY, clients=5, period_s=0.5) as ready,  # one poll every 0.1 s
    ):
        at["begin"] = time.monotonic()
        time.sleep(1.5)
        redis_server.stop()
        at["stopped"] = time.monotonic()
        time.sleep(3.0)
        at["start"] = time.monotonic()
        redis_server.start()  # the same port, empty: it keeps nothing on disk
        at["started"] = time.monotonic()
        time.sleep(2.0)
        at["put"] = time.monotonic()
        put_features(redis_settings, USERS)  # materialised again
        at["recovered"] = _ready_again(ready, at["put"])
        _users_answered_after(traffic, at["recovered"] + 0.5)  # a calm stretch, however loaded the machine
        at["freeze"] = time.monotonic()
        redis_server.freeze()
        time.sleep(4.0)
        at["thaw"] = time.monotonic()
        redis_server.thaw()
        at["thawed"] = _ready_again(ready, at["thaw"])
        _users_answered_after(traffic, at["thawed"] + 0.5)
        at["end"] = time.monotonic()

    down = Window("stopped", at["stopped"], at["start"])
    empty = Window("empty", at["started"], at["put"])
    frozen = Window("frozen", at["freeze"] + SIGNAL_SLACK_S, at["thaw"])
    rows = [
        _row("stop 3 s, restart empty 2 s", traffic, ready, [down, empty], at["begin"], at["freeze"] - 0.5),
        _row("freeze 4 s", traffic, ready, [frozen], at["freeze"] - 0.5, at["end"]),
    ]
    print("\n" + _table(rows))

    _check_readiness(ready.answers, at, down, empty, frozen)
    _check_routes(traffic.answers, at, down, empty, frozen)
    answered = [a.prediction_id for a in traffic.answers if a.status == 200 and a.prediction_id]
    assert len(answered) == len(set(answered)), "a prediction id was answered twice"
    assert len(answered) >= 100  # the traffic was real
    assert sorted(_logged(redis_settings)) == sorted(answered)  # each answer logged once, nothing else


def _check_readiness(polls: list[Answer], at: dict[str, float], *windows: Window) -> None:
    """Inside every outage window /ready is 503 with online_store not ok; around them it is 200."""
    lies = [poll for poll in polls if poll.status == 200 and any(w.holds(poll) for w in windows)]
    assert not lies, f"/ready said 200 while the store could not serve: {lies[:3]}"
    for window in windows:
        inside = [poll for poll in polls if window.holds(poll)]
        assert inside, f"no /ready poll fell inside the {window.name} window"
        assert all(poll.status == 503 and poll.store_ok is False for poll in inside), inside
        if window.name == "empty":
            assert all("holds no features" in poll.message for poll in inside), inside
    assert {poll.status for poll in polls} <= {200, 503}
    assert all(poll.status == 200 for poll in polls if poll.done < at["stopped"] - 0.5)
    assert polls[-1].status == 200


def _check_routes(answers: list[Answer], at: dict[str, float], *windows: Window) -> None:
    """503 (never 404 or 500) for user routes while the store is out; 200 otherwise, and always
    for the routes that need no features."""
    assert {a.status for a in answers} <= {200, 503}, _by_status(answers)
    free = [a for a in answers if a.path not in USER_ROUTES]
    assert free
    assert all(a.status == 200 for a in free), _by_status(free)
    users = [a for a in answers if a.path in USER_ROUTES]
    for window in windows:
        inside = [a for a in users if window.holds(a)]
        assert inside, f"no user request was answered inside the {window.name} window"  # none hung
        assert all(a.status == 503 for a in inside), _by_status(inside)
        if window.name == "empty":  # the store lost everyone: not "this user is unknown"
            assert all("holds no features" in a.message for a in inside), inside[:3]
    calm = [(at["begin"], at["stopped"] - 0.5), (at["recovered"] + 0.5, at["freeze"])]
    calm.append((at["thawed"] + 0.5, at["end"]))
    for start, end in calm:
        between = [a for a in users if start < a.sent and a.done < end]
        assert between
        assert all(a.status == 200 for a in between), _by_status(between)


def _by_status(answers: list[Answer]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    return counts


def _logged(settings: Settings) -> list[str]:
    with app_engine(settings).connect() as connection:
        return [str(value) for value in connection.scalars(select(ModelPrediction.id))]


@dataclass(frozen=True)
class FaultRow:
    """One outage under traffic, counted (a row of the BENCHMARKS table)."""

    outage: str
    rate: float
    answered: int
    statuses: dict[int, int]
    lied_s: float  # the longest stretch /ready said 200 inside an outage window
    slowest_s: float  # the slowest user-route answer inside an outage window
    slowest_ready_s: float  # the slowest /ready inside an outage window
    slowest_free_s: float  # the slowest intent or ner answer inside an outage window

    def cells(self) -> list[str]:
        """The row's cells."""
        counts = [self.statuses.get(status, 0) for status in (503, 500, 404)]
        figures = [f"{self.rate:.0f}", f"{self.answered:,}", *(f"{n:,}" for n in counts)]
        times = (self.lied_s, self.slowest_s, self.slowest_free_s, self.slowest_ready_s)
        return [self.outage, *figures, *(f"{seconds:.2f}" for seconds in times)]


def _row(
    outage: str, traffic: Recorder, ready: Recorder, windows: list[Window], start: float, end: float
) -> FaultRow:
    answers = [a for a in traffic.answers if start <= a.sent < end]
    polls = [p for p in ready.answers if any(w.holds(p) for w in windows)]
    lies = [p for p in polls if p.status == 200]
    inside = [a for a in answers if a.path in USER_ROUTES and any(w.holds(a) for w in windows)]
    free = [a for a in answers if a.path not in USER_ROUTES and any(w.holds(a) for w in windows)]
    return FaultRow(
        outage=outage,
        rate=len(answers) / (end - start),
        answered=sum(a.status == 200 and a.prediction_id is not None for a in answers),
        statuses=_by_status(answers),
        lied_s=max(p.done for p in lies) - min(p.sent for p in lies) if lies else 0.0,
        slowest_s=max((a.done - a.sent for a in inside), default=0.0),
        slowest_ready_s=max((p.done - p.sent for p in polls), default=0.0),
        slowest_free_s=max((a.done - a.sent for a in free), default=0.0),
    )


def _table(rows: list[FaultRow]) -> str:
    header = ["outage", "traffic (req/s)", "answered", "503", "500", "404", "/ready lied (s)",
              "slowest user 503 (s)", "slowest intent/ner 200 (s)", "slowest /ready (s)"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(row.cells()) + " |" for row in rows)])
