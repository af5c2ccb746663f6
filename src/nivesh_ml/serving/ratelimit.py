"""Per-key rate limits (``limits``, moving window): shared through Redis, or in this process.

With ``online_store == "redis"`` the counters live in Redis at ``redis_url`` (under their own
key prefix), so every replica of the server counts against the same limit; otherwise, with
several workers, in a SQLite file of the home they share (``ratelimit_sqlite.py``), and with one
worker in memory.
If the storage cannot answer, the request goes through (a limiter outage must not take the
API down) and ``nivesh_rate_limit_storage_errors`` counts it; for the next ``STORAGE_RETRY_S``
requests go through without asking it (a frozen Redis would cost each its socket timeout).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from nivesh_ml.config import Settings
from nivesh_ml.errors import ConfigError
from nivesh_ml.log import get_logger
from nivesh_ml.serving.errors import RateLimitedError
from nivesh_ml.serving.metrics import ServerMetrics
from nivesh_ml.serving.ratelimit_sqlite import SQLiteStorage

__all__ = ["RateLimiter", "RateStatus"]

log = get_logger(__name__)


@dataclass(frozen=True)
class RateStatus:
    """Where a key stands after a request: its limit, what is left, and when the window resets."""

    limit: int
    remaining: int
    reset_at: float

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-*`` headers (reset as Unix seconds)."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }


RATE_LIMIT_FILE = "ratelimit.sqlite"
# After a storage failure, requests go through unlimited this long before the storage is asked
# again: a frozen Redis costs one request its socket timeout, not every request.
STORAGE_RETRY_S = 2.0


def _storage(settings: Settings, prefix: str) -> Storage:
    """Redis when the platform has one; else a file the workers share; else this process's memory."""
    if settings.online_store == "redis":
        return RedisStorage(
            settings.redis_url, key_prefix=prefix, socket_timeout=0.5, socket_connect_timeout=0.5
        )
    if settings.workers > 1:
        return SQLiteStorage(settings.home / RATE_LIMIT_FILE)
    return MemoryStorage()


class RateLimiter:
    """One limit (``Settings.rate_limit``) per API key."""

    def __init__(self, settings: Settings, metrics: ServerMetrics, *, prefix: str) -> None:
        try:
            self.item: RateLimitItem = parse(settings.rate_limit)
        except ValueError:
            raise ConfigError(
                f"NIVESH_RATE_LIMIT={settings.rate_limit!r} is not a rate limit; write e.g. 120/minute"
            ) from None
        self.storage = _storage(settings, prefix)
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._metrics = metrics
        self.in_memory = isinstance(self.storage, MemoryStorage)
        self._resume_at = 0.0  # while the storage is failing: when to ask it again

    def hit(self, key_id: str, key_name: str) -> RateStatus | None:
        """Count one request of ``key_id``; raises :class:`RateLimitedError` when over the limit.

        Returns the key's status for the response headers, or None when the storage failed.
        """
        if time.monotonic() < self._resume_at:  # the storage failed a moment ago: do not wait on it again
            self._metrics.rate_limit_errors.inc()
            return None
        try:
            allowed = self._limiter.hit(self.item, key_id)
            stats = self._limiter.get_window_stats(self.item, key_id)
        except Exception as error:  # any storage failure: let the request through, count it
            self._metrics.rate_limit_errors.inc()
            if self._resume_at == 0.0:  # one line per outage, not one per request
                log.warning("rate-limit storage failed; letting requests through: %s", error)
            self._resume_at = time.monotonic() + STORAGE_RETRY_S
            return None
        if self._resume_at:
            log.info("rate-limit storage answers again; limits apply")
            self._resume_at = 0.0
        status = RateStatus(self.item.amount, stats.remaining, stats.reset_time)
        if not allowed:
            self._metrics.rate_limited.labels(key_name).inc()
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            headers = {**status.headers(), "Retry-After": str(retry_after)}
            raise RateLimitedError(
                f"rate limit of {self.item} reached; retry in {retry_after} s",
                headers,
            )
        return status

    def healthy(self) -> tuple[bool, str]:
        """Whether the storage answers (always true in memory)."""
        try:
            ok = bool(self.storage.check())
        except Exception as error:  # a probe reports, never raises
            return False, str(error)
        return ok, "ok" if ok else "no answer"
