"""Bounded work per route: each model route computes on threads of its own, within limits.

Every prediction route hands its (synchronous) work to :meth:`Bulkheads.run`. A route has its
own small thread pool, so a slow route (the assistant) can use up its own threads but never
another route's, nor the threads that ``/ready``, ``/models`` and ``/feedback`` run on. Per
route (:class:`RouteLimit`):

- ``concurrency`` requests compute at once and up to ``queue`` more wait for a thread; past
  that the route answers 503 with ``Retry-After`` at once (saturated), without queueing;
- a request not answered within ``timeout_s`` (waiting included) is answered 503 with
  ``Retry-After`` (timed out);
- a request whose client goes away is dropped.

A dropped or timed-out request is cancelled: if it has not started it never starts; if it has,
its :class:`~nivesh_ml.cancel.CancelToken` is set and the model stops at its next check (the
assistant checks after every token). Its thread stays counted against the route until the work
really ends, so abandoned work can never pile up beyond the route's limit.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request

from nivesh_ml.cancel import CancelToken, cancellable
from nivesh_ml.serving.errors import ClientGoneError, RouteBusyError
from nivesh_ml.serving.metrics import ServerMetrics

__all__ = ["DEFAULT_ROUTE_LIMITS", "Bulkheads", "RouteLimit"]

T = TypeVar("T")


@dataclass(frozen=True)
class RouteLimit:
    """How much one route may compute at once, queue, and take per request."""

    concurrency: int
    queue: int
    timeout_s: float


# The assistant generates for seconds per request on the CPU; every other model answers in
# milliseconds, so a deep queue costs little there and absorbs bursts.
DEFAULT_ROUTE_LIMITS: dict[str, RouteLimit] = {
    "intent": RouteLimit(concurrency=4, queue=64, timeout_s=5.0),
    "ner": RouteLimit(concurrency=4, queue=64, timeout_s=5.0),
    "spending": RouteLimit(concurrency=4, queue=32, timeout_s=10.0),
    "anomaly": RouteLimit(concurrency=4, queue=64, timeout_s=5.0),
    "credit-risk": RouteLimit(concurrency=4, queue=64, timeout_s=5.0),
    "assistant": RouteLimit(concurrency=2, queue=4, timeout_s=30.0),
}


class _Route:
    """One route's threads, its count of work in flight (running or queued) and its recent pace."""

    def __init__(self, name: str, limit: RouteLimit, metrics: ServerMetrics) -> None:
        self.name, self.limit, self._metrics = name, limit, metrics
        self._pool = ThreadPoolExecutor(limit.concurrency, thread_name_prefix=f"nivesh-{name}")
        self._lock = threading.Lock()
        self.in_flight = 0
        self._seconds = 0.0  # moving average of one request's compute time
        metrics.route_in_flight.labels(name).set_function(lambda: self.in_flight)

    def submit(self, work: Callable[[], T], token: CancelToken) -> Future[T]:
        with self._lock:
            if self.in_flight >= self.limit.concurrency + self.limit.queue:
                raise self._busy("saturated", f"the {self.name} route is at capacity; retry shortly")
            self.in_flight += 1
        future = self._pool.submit(self._call, work, token)
        future.add_done_callback(self._finished)  # also runs when a queued request is cancelled
        return future

    def _call(self, work: Callable[[], T], token: CancelToken) -> T:
        started = time.perf_counter()
        try:
            with cancellable(token):
                return work()
        finally:
            took = time.perf_counter() - started
            self._seconds = took if self._seconds == 0 else 0.8 * self._seconds + 0.2 * took

    def _finished(self, _future: Future[Any]) -> None:
        with self._lock:
            self.in_flight -= 1

    def retry_after(self) -> int:
        """Seconds until the work now in flight has likely drained (1 to 60)."""
        drain = self._seconds * (self.in_flight + 1) / self.limit.concurrency
        return min(60, max(1, math.ceil(drain)))

    def _busy(self, reason: str, message: str) -> RouteBusyError:
        self._metrics.route_rejected.labels(self.name, reason).inc()
        return RouteBusyError(message, {"Retry-After": str(self.retry_after())})

    async def run(self, work: Callable[[], T], request: Request | None) -> T:
        token = CancelToken()
        future = self.submit(work, token)
        waiter = asyncio.wrap_future(future)
        gone = asyncio.ensure_future(_client_gone(request)) if request is not None else None
        watched: set[asyncio.Future[Any]] = {waiter} if gone is None else {waiter, gone}
        try:
            done, _ = await asyncio.wait(
                watched,
                timeout=self.limit.timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if gone is not None:
                gone.cancel()
        if waiter in done:
            return waiter.result()
        waiter.cancel()  # a request still queued never starts
        if gone is not None and gone in done:
            token.cancel("the client went away")
            self._metrics.route_rejected.labels(self.name, "client_gone").inc()
            raise ClientGoneError(f"the client left before the {self.name} route answered")
        token.cancel("timed out")
        raise self._busy("timeout", f"the {self.name} route did not answer within {self.limit.timeout_s:g} s")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


async def _client_gone(request: Request) -> None:
    """Return when the client disconnects (the body has been read: only a disconnect can come)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


class Bulkheads:
    """The routes' bulkheads; see the module docstring."""

    def __init__(self, limits: Mapping[str, RouteLimit], metrics: ServerMetrics) -> None:
        self._routes = {name: _Route(name, limit, metrics) for name, limit in limits.items()}

    async def run(self, route: str, work: Callable[[], T], request: Request | None = None) -> T:
        """``work()`` on ``route``'s threads; 503 when the route is saturated or too slow."""
        return await self._routes[route].run(work, request)

    def in_flight(self) -> dict[str, int]:
        """Requests running or queued, per route."""
        return {name: route.in_flight for name, route in self._routes.items()}

    def close(self) -> None:
        """Stop taking work; queued requests are cancelled, running ones finish on their own."""
        for route in self._routes.values():
            route.close()
