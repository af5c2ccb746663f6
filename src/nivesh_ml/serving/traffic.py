"""Canary and shadow: which version answers a request, and which one scores it on the side.

The challenger's active ``model_deployment`` row in the app DB decides (``tracking.mirror`` keeps
it in step with the aliases):

- environment ``canary`` with ``traffic_percentage`` N: N% of requests go to the challenger.
  The split is sticky: a user always lands on the same side (a hash of model and ``user_id``);
  a request without a user is split by a hash of its prediction id;
- environment ``shadow``: the champion answers every request; the challenger scores a copy in
  the background (a bounded queue: when full, the shadow scoring is skipped and counted) and
  its answer is logged, never returned.

Plans are read on every refresh (start-up, the poller, ``POST /admin/reload``), not per request.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from nivesh_ml.db import ModelDeployment, ModelRegistry, session_scope
from nivesh_ml.log import get_logger
from nivesh_ml.serving.metrics import ServerMetrics
from nivesh_ml.serving.slots import ModelSlots, ServedModel

__all__ = ["Route", "ShadowRunner", "TrafficPlan", "TrafficRouter", "in_canary"]

log = get_logger(__name__)

Role = Literal["champion", "challenger"]
_BUCKETS = 10_000  # a percentage is matched to 0.01%


@dataclass(frozen=True)
class TrafficPlan:
    """How a model's challenger takes traffic: ``off``, ``canary`` (``percentage``) or ``shadow``."""

    mode: Literal["off", "canary", "shadow"]
    version: str
    percentage: int = 0

    def describe(self) -> str:
        """``canary 10%``, ``shadow`` or ``idle`` (for ``/models``)."""
        return {"canary": f"canary {self.percentage}%", "shadow": "shadow"}.get(self.mode, "idle")


@dataclass(frozen=True)
class Route:
    """Who answers a request (and in what role), and who scores it in the shadow."""

    served: ServedModel
    role: Role
    shadow: ServedModel | None = None


def in_canary(model: str, routing_key: str, percentage: int) -> bool:
    """Whether ``routing_key`` (a user id, or a request's id) falls in the first ``percentage``%."""
    digest = hashlib.blake2b(f"{model}:{routing_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % _BUCKETS < percentage * (_BUCKETS // 100)


class TrafficRouter:
    """Routes each request to champion or challenger by the plans read from the app DB."""

    def __init__(self, slots: ModelSlots, engine: Callable[[], Engine]) -> None:
        self._slots = slots
        self._engine = engine
        self._plans: dict[str, TrafficPlan] = {}

    def plan(self, key: str) -> TrafficPlan | None:
        """The plan of ``key``'s loaded challenger, if any."""
        challenger = self._slots.challenger(key)
        plan = self._plans.get(key)
        if challenger is None or plan is None or plan.version != challenger.version:
            return None
        return plan

    def route(self, key: str, routing_key: str) -> Route:
        """Champion, or the challenger for a canary's share; raises if no champion is loaded."""
        champion = self._slots.champion(key)
        plan = self.plan(key)
        challenger = self._slots.challenger(key)
        if plan is None or challenger is None:
            return Route(champion, "champion")
        if plan.mode == "canary" and in_canary(key, routing_key, plan.percentage):
            return Route(challenger, "challenger")
        if plan.mode == "shadow":
            return Route(champion, "champion", shadow=challenger)
        return Route(champion, "champion")

    def refresh(self) -> None:
        """Read the plans of every loaded challenger; if the app DB fails, keep the last ones."""
        wanted = {
            slot.key: slot.current
            for slot in self._slots.slots()
            if slot.alias == "challenger" and slot.current is not None
        }
        try:
            with session_scope(self._engine()) as session:
                self._plans = {key: _read_plan(session, served) for key, served in wanted.items()}
        except Exception as error:  # the app DB is away: routing goes on with the plans we had
            log.warning("cannot read canary/shadow plans from the app DB, keeping the last ones: %s", error)


def _read_plan(session: Session, served: ServedModel) -> TrafficPlan:
    query = (
        select(ModelDeployment)
        .join(ModelRegistry)
        .where(
            ModelRegistry.model_name == served.name,
            ModelRegistry.version == served.version,
            ModelDeployment.status == "active",
            ModelDeployment.environment.in_(("canary", "shadow")),
        )
        .order_by(ModelDeployment.updated_at.desc())
    )
    row = session.scalars(query).first()
    if row is None:
        return TrafficPlan("off", served.version)
    if row.environment == "shadow":
        return TrafficPlan("shadow", served.version)
    mode: Literal["canary", "off"] = "canary" if row.traffic_percentage > 0 else "off"
    return TrafficPlan(mode, served.version, row.traffic_percentage)


class ShadowRunner:
    """Runs shadow scorings on one background thread, at most ``size`` waiting; the rest are skipped."""

    def __init__(self, metrics: ServerMetrics, size: int) -> None:
        self._metrics = metrics
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nivesh-shadow")
        self._room = threading.BoundedSemaphore(size)

    def submit(self, key: str, job: Callable[[], None]) -> bool:
        """Queue ``job``; False (and counted) when the queue is full."""
        if not self._room.acquire(blocking=False):
            self._metrics.shadow_skipped.labels(key).inc()
            return False
        future = self._executor.submit(job)
        future.add_done_callback(self._release)
        return True

    def _release(self, _future: Future[None]) -> None:
        self._room.release()

    def close(self) -> None:
        """Finish the running job, drop the waiting ones."""
        self._executor.shutdown(wait=True, cancel_futures=True)
