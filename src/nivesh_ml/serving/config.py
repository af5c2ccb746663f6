"""The model server's own knobs: :meth:`ServingConfig.from_settings` reads them from ``Settings``
(``NIVESH_RELOAD_INTERVAL_S``, ``NIVESH_PREDLOG_*``, ...); tests pass a :class:`ServingConfig` of
their own to ``create_app``. The dataclass defaults are the ``Settings`` defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType

from nivesh_ml.config import Settings
from nivesh_ml.errors import ConfigError
from nivesh_ml.serving.bulkhead import DEFAULT_ROUTE_LIMITS, RouteLimit

__all__ = ["DEFAULT_CORS_ORIGINS", "ServingConfig"]

# A local front end in development; production lists its own origins.
DEFAULT_CORS_ORIGINS: tuple[str, ...] = ("http://127.0.0.1:3000", "http://localhost:3000")
RELOAD_INTERVAL_S = 30.0
PREDLOG_QUEUE_SIZE = 10_000
PREDLOG_BATCH_SIZE = 200
PREDLOG_FLUSH_INTERVAL_S = 0.25
PREDLOG_REPLAY_INTERVAL_S = 30.0
KEY_CACHE_TTL_S = 10.0
SHADOW_QUEUE_SIZE = 64
RATE_LIMIT_PREFIX = "nivesh:ratelimit"
SHUTDOWN_FLUSH_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ServingConfig:
    """How the server reloads, logs predictions, caches keys, mirrors to shadows and allows origins.

    ``reload_interval_s`` 0 turns the registry poller off (``POST /admin/reload`` still works);
    ``spill_dir`` None means ``<home>/spill``. ``key_cache_ttl_s`` bounds how long a revoked
    key may still be accepted by a running server (``POST /admin/cache/clear`` empties it now).
    """

    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    reload_interval_s: float = RELOAD_INTERVAL_S
    predlog_queue_size: int = PREDLOG_QUEUE_SIZE
    predlog_batch_size: int = PREDLOG_BATCH_SIZE
    predlog_flush_interval_s: float = PREDLOG_FLUSH_INTERVAL_S
    predlog_replay_interval_s: float = PREDLOG_REPLAY_INTERVAL_S
    key_cache_ttl_s: float = KEY_CACHE_TTL_S
    shadow_queue_size: int = SHADOW_QUEUE_SIZE
    rate_limit_prefix: str = RATE_LIMIT_PREFIX
    shutdown_flush_timeout_s: float = SHUTDOWN_FLUSH_TIMEOUT_S
    spill_dir: Path | None = None
    route_limits: Mapping[str, RouteLimit] = field(
        default_factory=lambda: MappingProxyType(DEFAULT_ROUTE_LIMITS)
    )
    body_timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ServingConfig:
        """The configuration ``settings`` asks for."""
        return cls(
            cors_origins=tuple(settings.cors_origins),
            reload_interval_s=settings.reload_interval_s,
            predlog_queue_size=settings.predlog_queue_size,
            predlog_batch_size=settings.predlog_batch_size,
            predlog_flush_interval_s=settings.predlog_flush_interval_s,
            predlog_replay_interval_s=settings.predlog_replay_interval_s,
            key_cache_ttl_s=settings.api_key_cache_ttl_s,
            shadow_queue_size=settings.shadow_queue_size,
            shutdown_flush_timeout_s=settings.shutdown_flush_timeout_s,
            route_limits=MappingProxyType(route_limits(settings.route_limits)),
            body_timeout_s=settings.body_timeout_s,
        )

    def spill_path(self, settings: Settings) -> Path:
        """Where prediction-log records wait when the app DB cannot take them."""
        return (self.spill_dir or settings.home / "spill") / "predictions.jsonl"


def route_limits(overrides: Mapping[str, Mapping[str, float]]) -> dict[str, RouteLimit]:
    """The default route limits with ``overrides`` (``NIVESH_ROUTE_LIMITS``) applied."""
    unknown = sorted(set(overrides) - set(DEFAULT_ROUTE_LIMITS))
    if unknown:
        raise ConfigError(
            f"NIVESH_ROUTE_LIMITS names unknown routes {unknown}; use {sorted(DEFAULT_ROUTE_LIMITS)}"
        )
    limits = dict(DEFAULT_ROUTE_LIMITS)
    names = {f.name for f in fields(RouteLimit)}
    for route, values in overrides.items():
        bad = sorted(set(values) - names)
        if bad or any(value <= 0 for value in values.values()):
            raise ConfigError(
                f"NIVESH_ROUTE_LIMITS[{route!r}]: positive {sorted(names)} only; got {dict(values)}"
            )
        current = limits[route]
        limits[route] = RouteLimit(
            concurrency=int(values.get("concurrency", current.concurrency)),
            queue=int(values.get("queue", current.queue)),
            timeout_s=float(values.get("timeout_s", current.timeout_s)),
        )
    return limits
