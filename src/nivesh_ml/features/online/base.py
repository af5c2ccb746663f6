"""The online feature store's contract and the parts every backend shares.

* :class:`OnlineStore`, the protocol the model server and materialisation code rely on;
  :class:`ViewKey`, :class:`HealthStatus` and :class:`StoreStats`, the values it speaks in.
* The codec (in ``_codec``, re-exported here): :func:`normalize_row` turns a builder's row
  (numpy scalars, pandas ``Timestamp`` and ``NaN`` included) into plain Python values, which
  msgpack stores and gives back with their type: an int comes back an int, a bool a bool,
  ``NaN`` comes back ``None``.
* :class:`StoreBase`, the template both backends fill in: it validates requests, enforces
  expiry on read, counts hits, misses and expired rows, and turns driver errors into
  :class:`~nivesh_ml.errors.OnlineStoreUnavailable` or
  :class:`~nivesh_ml.errors.FeatureStoreError`.

A row written at ``event_time`` with ``ttl`` is served until ``event_time + ttl``; after that
it reads as missing (and counts as ``expired``) whether or not the backend has purged it.
:meth:`OnlineStore.touch` moves a live row's event time and expiry forward without rewriting it,
and :meth:`OnlineStore.mark_refreshed` records, per view, the instant every row of the view was
last known right (the view's age counts from it; see ``features/refresh.py``).
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from prometheus_client import CollectorRegistry

from nivesh_ml.errors import FeatureStoreError
from nivesh_ml.features.online._codec import (
    RESERVED_PREFIX,
    decode_value,
    encode_value,
    from_micros,
    normalize_row,
    now_micros,
    to_micros,
)
from nivesh_ml.features.online._metrics import LATENCY_BUCKETS, StoreMetrics, StoreStats
from nivesh_ml.log import get_logger

__all__ = [
    "LATENCY_BUCKETS",
    "HealthStatus",
    "OnlineStore",
    "StoreBase",
    "StoreStats",
    "ViewKey",
    "decode_value",
    "encode_value",
    "normalize_row",
]

_log = get_logger(__name__)

_MICROSECOND = timedelta(microseconds=1)
_VIEW_NAME = re.compile(r"[a-z][a-z0-9_]{0,127}")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ViewKey:
    """A feature view at one version; ``str(ViewKey("user_financial_profile", 1))`` is ``...:v1``."""

    name: str
    version: int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _VIEW_NAME.fullmatch(self.name):
            raise FeatureStoreError(f"bad feature view name {self.name!r}: use lower_snake_case")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise FeatureStoreError(f"bad version {self.version!r} of view {self.name!r}: use an int >= 1")

    def __str__(self) -> str:
        return f"{self.name}:v{self.version}"

    @classmethod
    def parse(cls, text: str) -> ViewKey:
        """The view named by ``"name:vN"`` (the form ``str()`` gives)."""
        name, _, version = text.rpartition(":v")
        if not name or not version.isdigit():
            raise FeatureStoreError(
                f"bad feature view {text!r}: expected NAME:vVERSION, e.g. user_profile:v1"
            )
        return cls(name, int(version))


@dataclass(frozen=True, slots=True)
class HealthStatus:
    """Whether the store answered a probe, and how fast."""

    ok: bool
    backend: str
    detail: str
    latency_ms: float


@runtime_checkable
class OnlineStore(Protocol):
    """Per-entity feature rows of versioned views, for serving; see the module docstring."""

    backend: str

    def get(
        self, view: ViewKey, entity_id: str, features: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        """The entity's stored features (all, or the named subset); None if missing or expired."""

    def get_many(
        self, view: ViewKey, entity_ids: Sequence[str], features: Sequence[str] | None = None
    ) -> list[dict[str, Any] | None]:
        """One row per entity id, in the same order; None where missing or expired."""

    def put_many(
        self, view: ViewKey, rows: Mapping[str, Mapping[str, Any]], *, ttl: timedelta, event_time: datetime
    ) -> int:
        """Replace each entity's row; it is served until ``event_time + ttl``. Returns rows written."""

    def touch(self, view: ViewKey, entity_ids: Sequence[str], *, ttl: timedelta, event_time: datetime) -> int:
        """Serve the entities' live rows until ``event_time + ttl`` (never sooner than before),
        features untouched; missing or expired rows stay so. Returns how many rows were live."""

    def mark_refreshed(self, view: ViewKey, at: datetime) -> None:
        """Record that every row of the view was written or touched at ``at`` (kept if later)."""

    def refreshed_at(self, view: ViewKey) -> datetime | None:
        """When the view was last marked refreshed (UTC); None if never."""

    def delete(self, view: ViewKey, entity_ids: Sequence[str]) -> int:
        """Remove the entities' rows; returns how many were there."""

    def entity_ids(self, view: ViewKey) -> Iterator[str]:
        """The ids of the view's unexpired rows, each once, in no promised order."""

    def event_time(self, view: ViewKey, entity_id: str) -> datetime | None:
        """The event time the entity's row was written with (UTC); None if missing or expired."""

    def health(self) -> HealthStatus:
        """Probe the backend; never raises."""

    def stats(self) -> StoreStats:
        """In-process counters and recent read latency."""

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""


# --- the shared implementation ---------------------------------------------------------------

Stored = tuple[int, dict[str, Any]]  # (expires_at in epoch microseconds, features)


class StoreBase(ABC):
    """What both backends share; each fills in the ``_fetch``/``_store``/... primitives."""

    backend: str  # set by each backend class
    _driver_errors: ClassVar[tuple[type[Exception], ...]]

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self._metrics = StoreMetrics(self.backend, registry or CollectorRegistry())
        self._closed = False

    def get(
        self, view: ViewKey, entity_id: str, features: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        """The entity's stored features (all, or the named subset); None if missing or expired."""
        return self._read("get", view, [entity_id], features)[0]

    def get_many(
        self, view: ViewKey, entity_ids: Sequence[str], features: Sequence[str] | None = None
    ) -> list[dict[str, Any] | None]:
        """One row per entity id, in the same order; None where missing or expired."""
        return self._read("get_many", view, entity_ids, features)

    def put_many(
        self, view: ViewKey, rows: Mapping[str, Mapping[str, Any]], *, ttl: timedelta, event_time: datetime
    ) -> int:
        """Replace each entity's row; it is served until ``event_time + ttl``. Returns rows written.

        A batch that would already be expired is not written (and 0 is returned).
        """
        event_us, expires_us = _expiry(ttl, event_time)
        if expires_us <= now_micros():
            _log.warning("not writing %d rows of %s: event_time + ttl is already past", len(rows), view)
            return 0
        plain = [(_entity_id(entity_id), normalize_row(features)) for entity_id, features in rows.items()]
        if plain:
            started = time.perf_counter()
            with self._guard("put_many"):
                self._store(view, plain, event_us, expires_us)
            self._metrics.changed("put_many", "write", time.perf_counter() - started, len(plain))
        return len(plain)

    def touch(self, view: ViewKey, entity_ids: Sequence[str], *, ttl: timedelta, event_time: datetime) -> int:
        """Serve the entities' live rows until ``event_time + ttl`` (never sooner than before),
        features untouched; missing or expired rows stay so. Returns how many rows were live."""
        event_us, expires_us = _expiry(ttl, event_time)
        if expires_us <= now_micros():
            _log.warning("not touching rows of %s: event_time + ttl is already past", view)
            return 0
        ids = list(dict.fromkeys(_entity_id(entity_id) for entity_id in entity_ids))
        if not ids:
            return 0
        started = time.perf_counter()
        with self._guard("touch"):
            touched = self._touch(view, ids, event_us, expires_us, now_micros())
        self._metrics.changed("touch", "write", time.perf_counter() - started, touched)
        return touched

    def mark_refreshed(self, view: ViewKey, at: datetime) -> None:
        """Record that every row of the view was written or touched at ``at`` (kept if later)."""
        at_us = to_micros(at)
        with self._guard("mark_refreshed"):
            self._mark(view, at_us)

    def refreshed_at(self, view: ViewKey) -> datetime | None:
        """When the view was last marked refreshed (UTC); None if never."""
        with self._guard("refreshed_at"):
            at_us = self._marked(view)
        return None if at_us is None else from_micros(at_us)

    def delete(self, view: ViewKey, entity_ids: Sequence[str]) -> int:
        """Remove the entities' rows; returns how many were there (expired ones included)."""
        started = time.perf_counter()
        with self._guard("delete"):
            removed = self._remove(view, list(dict.fromkeys(entity_ids))) if entity_ids else 0
        self._metrics.changed("delete", "delete", time.perf_counter() - started, removed)
        return removed

    def entity_ids(self, view: ViewKey) -> Iterator[str]:
        """The ids of the view's unexpired rows, each once, in no promised order."""
        with self._guard("entity_ids"):
            yield from self._scan(view, now_micros())

    def event_time(self, view: ViewKey, entity_id: str) -> datetime | None:
        """The event time the entity's row was written with (UTC); None if missing or expired."""
        with self._guard("event_time"):
            times = self._fetch_times(view, entity_id)
        if times is None or times[1] <= now_micros():
            return None
        return from_micros(times[0])

    def health(self) -> HealthStatus:
        """Probe the backend; never raises."""
        started = time.perf_counter()
        try:
            ok, detail = True, self._ping()
        except Exception as exc:  # a probe reports every failure, it never raises
            ok, detail = False, self._describe(exc)
        latency_ms = (time.perf_counter() - started) * 1000
        return HealthStatus(ok=ok, backend=self.backend, detail=detail, latency_ms=latency_ms)

    def stats(self) -> StoreStats:
        """In-process counters and recent read latency."""
        return self._metrics.snapshot()

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        self._closed = True
        self._release()

    def _read(
        self, op: str, view: ViewKey, entity_ids: Sequence[str], features: Sequence[str] | None
    ) -> list[dict[str, Any] | None]:
        if isinstance(features, str):
            raise FeatureStoreError(f"features must be a list of names, not the str {features!r}")
        if features is not None and any(name.startswith(RESERVED_PREFIX) for name in features):
            raise FeatureStoreError(f"feature names starting with '__' are reserved: {list(features)!r}")
        started = time.perf_counter()
        with self._guard(op):
            stored = self._fetch(view, entity_ids, None if features is None else list(features))
        now = now_micros()
        rows = [item[1] if item is not None and item[0] > now else None for item in stored]
        hits = sum(row is not None for row in rows)
        expired = sum(item is not None for item in stored) - hits
        self._metrics.read(op, time.perf_counter() - started, hits, len(rows) - hits - expired, expired)
        return rows

    @contextmanager
    def _guard(self, op: str) -> Iterator[None]:
        if self._closed:
            raise FeatureStoreError(f"the {self.backend} online store is closed")
        try:
            yield
        except self._driver_errors as exc:
            self._metrics.failed(op)
            raise self._translate(exc) from exc

    def _describe(self, exc: Exception) -> str:
        known = isinstance(exc, self._driver_errors)
        text = str(self._translate(exc)) if known else f"{type(exc).__name__}: {exc}"
        return " ".join(text.split())

    @abstractmethod
    def _fetch(
        self, view: ViewKey, entity_ids: Sequence[str], features: list[str] | None
    ) -> list[Stored | None]:
        """Stored rows (features subset applied), in order; None where absent."""

    @abstractmethod
    def _store(
        self, view: ViewKey, rows: list[tuple[str, dict[str, Any]]], event_us: int, expires_us: int
    ) -> None:
        """Replace the rows (values already plain)."""

    @abstractmethod
    def _touch(self, view: ViewKey, ids: list[str], event_us: int, expires_us: int, now_us: int) -> int:
        """Move the live rows' times forward (each to the later of old and new); how many were live."""

    @abstractmethod
    def _mark(self, view: ViewKey, at_us: int) -> None:
        """Keep the later of the stored refresh time and ``at_us``."""

    @abstractmethod
    def _marked(self, view: ViewKey) -> int | None:
        """The stored refresh time; None if never marked."""

    @abstractmethod
    def _remove(self, view: ViewKey, entity_ids: list[str]) -> int:
        """Delete the rows; how many there were."""

    @abstractmethod
    def _scan(self, view: ViewKey, now_us: int) -> Iterator[str]:
        """Ids of the rows unexpired at ``now_us``, each once."""

    @abstractmethod
    def _fetch_times(self, view: ViewKey, entity_id: str) -> tuple[int, int] | None:
        """(event time, expiry) of the row in epoch microseconds; None if absent."""

    @abstractmethod
    def _ping(self) -> str:
        """A one-line description of a successful probe; raises if the backend cannot answer."""

    @abstractmethod
    def _translate(self, exc: Exception) -> FeatureStoreError:
        """The one-line error to raise for a driver exception."""

    @abstractmethod
    def _release(self) -> None:
        """Close connections."""


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _expiry(ttl: timedelta, event_time: datetime) -> tuple[int, int]:
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0):
        raise FeatureStoreError(f"ttl must be a positive timedelta, got {ttl!r}")
    event_us = to_micros(event_time)
    return event_us, event_us + ttl // _MICROSECOND


def _entity_id(entity_id: Any) -> str:
    if not isinstance(entity_id, str) or not entity_id:
        raise FeatureStoreError(f"bad entity id {entity_id!r}: use a non-empty str")
    return entity_id
