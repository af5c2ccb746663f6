"""Load test of the model server, and of the MLflow peer, with locust: headless, bounded, 127.0.0.1 only.

Run it as a process of its own (locust's gevent patches the whole process; it must never share one
with the ML stack), e.g. against a running ``nivesh-ml serve``::

    NIVESH_BENCH_KEY=... NIVESH_BENCH_USERS=U0000001,U0000002 \\
    .venv/bin/locust -f loadtest/locustfile.py --headless -u 16 -r 16 -t 30s \\
        --host http://127.0.0.1:8000 --csv var/bench/locust NiveshUser

``MlflowUser`` loads ``mlflow models serve``'s ``/invocations`` with the same feature row.
Environment:

- ``NIVESH_BENCH_KEY``: an API key with the ``predict`` scope;
- ``NIVESH_BENCH_USERS``: comma-separated user ids that have online features;
- ``NIVESH_BENCH_FEATURES``: one feature row as a JSON object (credit-risk by features, the peer);
- ``NIVESH_BENCH_ROUTES``: comma-separated tasks to run, from :data:`ROUTES`
  (default ``credit-risk-user,credit-risk-features``).
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from locust import FastHttpUser, constant, events
from locust.env import Environment

KEY = os.environ.get("NIVESH_BENCH_KEY", "")
USERS = [user for user in os.environ.get("NIVESH_BENCH_USERS", "U0000001").split(",") if user]
FEATURES: dict[str, Any] = json.loads(os.environ.get("NIVESH_BENCH_FEATURES", "{}"))
WANTED = os.environ.get("NIVESH_BENCH_ROUTES", "credit-risk-user,credit-risk-features").split(",")
TXN = {"amount": 2_450.0, "merchant": "Swiggy", "category": "food_delivery", "channel": "UPI"}


@events.init.add_listener
def _local_only(environment: Environment, **_kwargs: Any) -> None:
    """Refuse any target but 127.0.0.1: this load test must never leave the machine."""
    options = environment.parsed_options
    host = getattr(options, "host", None) or environment.host or ""
    if urlsplit(host).hostname != "127.0.0.1":
        raise SystemExit(f"refusing to load {host!r}: only http://127.0.0.1:PORT is allowed")


def _post(user: FastHttpUser, path: str, body: dict[str, Any], name: str) -> None:
    with user.client.post(path, json=body, name=name, catch_response=True) as response:
        if response.status_code != 200:
            response.failure(f"{response.status_code}: {response.text[:200]}")


def credit_risk_user(user: FastHttpUser) -> None:
    """Credit risk of a user, features read from the online store."""
    _post(user, "/predict/credit-risk", {"user_id": random.choice(USERS)}, "credit-risk (user_id)")


def credit_risk_features(user: FastHttpUser) -> None:
    """Credit risk of features sent in the body (the same work the MLflow peer does)."""
    _post(user, "/predict/credit-risk", {"features": FEATURES}, "credit-risk (features)")


def intent(user: FastHttpUser) -> None:
    """Intent of a short query."""
    _post(user, "/predict/intent", {"query": "how much did I spend on food last month"}, "intent")


def ner(user: FastHttpUser) -> None:
    """Entities of a payment note."""
    _post(user, "/predict/ner", {"text": "Paid 1,200 to Swiggy on 3 March via UPI"}, "ner")


def spending(user: FastHttpUser) -> None:
    """A three-month spending forecast."""
    _post(user, "/predict/spending", {"user_id": random.choice(USERS), "horizon_months": 3}, "spending")


def anomaly(user: FastHttpUser) -> None:
    """Anomaly score of a transaction."""
    txn = {**TXN, "user_id": random.choice(USERS), "timestamp": "2025-03-14T20:17:00+05:30"}
    _post(user, "/predict/anomaly", {"transaction": txn}, "anomaly")


def chat(user: FastHttpUser) -> None:
    """One assistant turn."""
    _post(
        user,
        "/assistant/chat",
        {"messages": [{"role": "user", "content": "Can I afford a 20k EMI?"}]},
        "chat",
    )


def health(user: FastHttpUser) -> None:
    """The cheapest route: the server's floor."""
    user.client.get("/health", name="health")


ROUTES: dict[str, Callable[[FastHttpUser], None]] = {
    "credit-risk-user": credit_risk_user,
    "credit-risk-features": credit_risk_features,
    "intent": intent,
    "ner": ner,
    "spending": spending,
    "anomaly": anomaly,
    "chat": chat,
    "health": health,
}


class NiveshUser(FastHttpUser):
    """A client of the model server sending requests back to back (closed loop)."""

    wait_time = constant(0)
    default_headers = {"X-API-Key": KEY}  # noqa: RUF012
    tasks = [ROUTES[name] for name in WANTED if name in ROUTES] or [credit_risk_user]


class MlflowUser(FastHttpUser):
    """A client of ``mlflow models serve`` scoring the same feature row, back to back."""

    wait_time = constant(0)

    def invocations(self) -> None:
        """One row through the peer's pyfunc ``predict``."""
        _post(self, "/invocations", {"dataframe_records": [FEATURES]}, "mlflow /invocations")

    tasks = [invocations]  # noqa: RUF012
