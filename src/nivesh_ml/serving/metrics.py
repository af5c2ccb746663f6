"""The model server's Prometheus series, on a registry of its own (one per app).

Requests (count, latency per route, in flight), predictions (by model, version, role and
outcome), models (version and load time, reload failures), rate-limit rejections, the
prediction log's queue, spills and overflows, shadow scoring, the age of each online feature
view and the server's feature refreshes. The online store registers its own series
(``nivesh_feature_store_*``) on the same registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from nivesh_ml.log import get_logger

__all__ = ["LATENCY_BUCKETS", "MetricsMiddleware", "ServerMetrics", "ViewAgeCollector"]

log = get_logger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServerMetrics:
    """Every series the server exports, created on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "nivesh_http_requests",
            "HTTP requests answered.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "nivesh_http_request_duration_seconds",
            "Time to answer an HTTP request, per route.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "nivesh_http_requests_in_flight", "Requests being answered.", registry=registry
        )
        self.errors = Counter(
            "nivesh_http_errors", "Error responses, by route and kind.", ["route", "kind"], registry=registry
        )
        self.predictions = Counter(
            "nivesh_predictions",
            "Predictions, by model, version, role (champion/challenger/shadow) and outcome.",
            ["model", "version", "role", "outcome"],
            registry=registry,
        )
        self.model_latency = Histogram(
            "nivesh_model_serve_duration_seconds",
            "Time spent inside a model's serve().",
            ["model", "role"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._model_series(registry)
        self._auth_series(registry)
        self._predlog_series(registry)
        self._route_series(registry)
        self._view_ages: ViewAgeCollector | None = None
        self.feature_refreshes = Counter(
            "nivesh_feature_refresh_runs", "The server's background feature refreshes, by result.",
            ["result"], registry=registry,
        )  # fmt: skip

    def track_view_ages(
        self, ages: Callable[[], Mapping[str, float | None]], ttls: Mapping[str, float]
    ) -> None:
        """Export each view's age (``ages``: seconds, None: unknown) and TTL, read at every scrape."""
        if self._view_ages is not None:  # the app started again: the new state's ages replace the old
            self.registry.unregister(self._view_ages)
        self._view_ages = ViewAgeCollector(ages, ttls)
        self.registry.register(self._view_ages)

    def _route_series(self, registry: CollectorRegistry) -> None:
        self.route_in_flight = Gauge(
            "nivesh_route_work_in_flight", "Requests computing or queued on a route's own threads.",
            ["route"], registry=registry,
        )  # fmt: skip
        self.route_rejected = Counter(
            "nivesh_route_rejected",
            "Requests a route did not compute: saturated or timeout (answered 503), client_gone.",
            ["route", "reason"],
            registry=registry,
        )

    def _model_series(self, registry: CollectorRegistry) -> None:
        self.model_info = Gauge(
            "nivesh_model_info", "1 for the version each alias serves.", ["model", "alias", "version"],
            registry=registry,
        )  # fmt: skip
        self.model_loaded_at = Gauge(
            "nivesh_model_loaded_timestamp_seconds", "When the served version was loaded (Unix time).",
            ["model", "alias"], registry=registry,
        )  # fmt: skip
        self.reloads = Counter(
            "nivesh_model_reloads", "Model loads on start-up and alias moves, by result.",
            ["model", "alias", "result"], registry=registry,
        )  # fmt: skip
        self.reload_failures = Counter(
            "nivesh_model_reload_failures", "Versions that failed to load (the old one kept serving).",
            ["model", "alias"], registry=registry,
        )  # fmt: skip
        self.shadow_skipped = Counter(
            "nivesh_shadow_skipped", "Shadow scorings skipped because the shadow queue was full.", ["model"],
            registry=registry,
        )  # fmt: skip

    def _auth_series(self, registry: CollectorRegistry) -> None:
        self.rate_limited = Counter(
            "nivesh_rate_limited", "Requests refused by a key's rate limit.", ["key"], registry=registry
        )
        self.rate_limit_errors = Counter(
            "nivesh_rate_limit_storage_errors",
            "Rate-limit checks the storage could not answer (the request was let through).",
            registry=registry,
        )
        self.auth_failures = Counter(
            "nivesh_auth_failures", "Requests refused for their API key.", ["reason"], registry=registry
        )

    def _predlog_series(self, registry: CollectorRegistry) -> None:
        self.predlog_depth = Gauge(
            "nivesh_predlog_queue_depth", "Prediction-log records waiting for the writer.", registry=registry
        )
        self.predlog_records = Counter(
            "nivesh_predlog_records",
            "Prediction-log records by what happened to them: written, spilled (app DB failed), "
            "overflow (queue full, spilled), replayed (from the spill file), quarantined (the DB "
            "refused the row's content; set aside in spill/quarantine.jsonl), lost (spill failed too).",
            ["result"],
            registry=registry,
        )
        self.predlog_spill_waiting = Gauge(
            "nivesh_predlog_spill_waiting",
            "Prediction-log records waiting in spill files to be replayed into the app DB.",
            registry=registry,
        )
        self.predlog_write_failures = Counter(
            "nivesh_predlog_write_failures", "Batches the app DB refused.", registry=registry
        )


class ViewAgeCollector(Collector):
    """``nivesh_feature_view_age_seconds{view}`` (since the view's last materialisation or refresh)
    and ``nivesh_feature_view_ttl_seconds{view}``: a view has expired when its age reaches its TTL.

    A view of unknown age (never refreshed) has no age sample; a store that cannot answer gives none.
    """

    def __init__(self, ages: Callable[[], Mapping[str, float | None]], ttls: Mapping[str, float]) -> None:
        self._ages = ages
        self._ttls = dict(ttls)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        age, ttl = self._families()
        try:
            ages = self._ages()
        except Exception as error:  # a scrape never fails for the store: the age series go missing
            log.warning("cannot read the feature views' ages: %s", error)
            ages = {}
        for view, seconds in sorted(ages.items()):
            if seconds is not None:
                age.add_metric([view], seconds)
        for view, seconds in sorted(self._ttls.items()):
            ttl.add_metric([view], seconds)
        yield age
        yield ttl

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        age = GaugeMetricFamily(
            "nivesh_feature_view_age_seconds",
            "Seconds since the online feature view was last materialised or refreshed.",
            labels=["view"],
        )
        ttl = GaugeMetricFamily(
            "nivesh_feature_view_ttl_seconds", "The view's TTL: its rows expire at this age.", labels=["view"]
        )
        return age, ttl


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class MetricsMiddleware:
    """Counts, times and tracks in-flight HTTP requests by route template (pure ASGI, no buffering)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        started = perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_flight.dec()
            self._record(scope, status, perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route, method = _route_of(scope), str(scope.get("method", ""))
        self.metrics.requests.labels(route, method, str(status)).inc()
        self.metrics.latency.labels(route, method).observe(seconds)
        if status >= 400:
            self.metrics.errors.labels(route, _kind(status)).inc()


def _kind(status: int) -> str:
    kinds = {
        400: "bad_input",
        401: "auth",
        403: "auth",
        404: "not_found",
        422: "bad_input",
        429: "rate_limit",
    }
    return kinds.get(status, "server" if status >= 500 else "client")
