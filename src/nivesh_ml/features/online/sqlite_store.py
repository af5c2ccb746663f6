"""Online features in one SQLite file, the embedded default.

One table keyed by (view, version, entity_id), ``WITHOUT ROWID``: a row's features are one
msgpack map in ``payload``, beside ``event_time`` and ``expires_at`` (epoch microseconds);
each view's refresh time in ``online_views``.
WAL mode lets readers run beside a writer; each thread has its own connection, and writes
take the file's write lock with ``BEGIN IMMEDIATE`` (waiting up to :data:`BUSY_TIMEOUT_S`
for other threads or processes), so concurrent writers queue instead of failing.

Expired rows read as missing; every :data:`PURGE_EVERY_S` seconds a write also deletes them.
``synchronous=NORMAL`` may lose the last writes on power loss: the store is a cache that
materialisation rebuilds from the offline store.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from nivesh_ml.errors import FeatureStoreError, OnlineStoreUnavailable
from nivesh_ml.features.online.base import StoreBase, Stored, ViewKey, chunked, decode_value, encode_value

__all__ = ["BUSY_TIMEOUT_S", "CHUNK", "SQLiteStore"]

BUSY_TIMEOUT_S = 5.0
CHUNK = 500  # ids per IN (...) query, well below SQLite's 32,766 variables
PURGE_EVERY_S = 300.0
PAGE = 1_000  # ids per page of entity_ids()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_features (
    view TEXT NOT NULL,
    version INTEGER NOT NULL,
    entity_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    event_time INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (view, version, entity_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS online_features_expires_at ON online_features (expires_at);
CREATE TABLE IF NOT EXISTS online_views (
    view TEXT NOT NULL,
    version INTEGER NOT NULL,
    refreshed_at INTEGER NOT NULL,
    PRIMARY KEY (view, version)
) WITHOUT ROWID;
"""
_UPSERT = """
INSERT INTO online_features (view, version, entity_id, payload, event_time, expires_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (view, version, entity_id) DO UPDATE SET
    payload = excluded.payload, event_time = excluded.event_time, expires_at = excluded.expires_at
"""
_WHERE_VIEW = "view = ? AND version = ?"
_MARK = """
INSERT INTO online_views (view, version, refreshed_at) VALUES (?, ?, ?)
ON CONFLICT (view, version) DO UPDATE SET refreshed_at = MAX(refreshed_at, excluded.refreshed_at)
"""


class SQLiteStore(StoreBase):
    """Feature rows in a SQLite file; safe for many threads and processes."""

    backend = "sqlite"
    _driver_errors = (sqlite3.Error,)

    def __init__(self, path: Path, *, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._next_purge = 0.0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._connection()
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            self._release()
            raise self._translate(exc) from exc

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._closed:
                raise FeatureStoreError("the sqlite online store is closed")
            # isolation_level=None: we issue BEGIN ourselves; check_same_thread=False only so
            # that close() may close every thread's connection.
            connection = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
            self._adopt(connection)
        return connection

    def _adopt(self, connection: sqlite3.Connection) -> None:
        # Keep every thread's connection for close(); close those of threads that have ended.
        with self._lock:
            ended = [conn for thread, conn in self._connections if not thread.is_alive()]
            self._connections = [(t, c) for t, c in self._connections if t.is_alive()]
            self._connections.append((threading.current_thread(), connection))
        for conn in ended:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise

    def _fetch(
        self, view: ViewKey, entity_ids: Sequence[str], features: list[str] | None
    ) -> list[Stored | None]:
        connection = self._connection()
        found: dict[str, tuple[bytes, int]] = {}
        for chunk in chunked(entity_ids, CHUNK):
            query = (
                f"SELECT entity_id, payload, expires_at FROM online_features"  # nosec B608  # constant SQL, values bound
                f" WHERE {_WHERE_VIEW} AND entity_id IN ({', '.join('?' * len(chunk))})"
            )
            for entity_id, payload, expires_at in connection.execute(
                query, (view.name, view.version, *chunk)
            ):
                found[entity_id] = (payload, expires_at)
        return [_decode(found.get(entity_id), features) for entity_id in entity_ids]

    def _store(
        self, view: ViewKey, rows: list[tuple[str, dict[str, Any]]], event_us: int, expires_us: int
    ) -> None:
        values = (
            (view.name, view.version, entity_id, encode_value(features), event_us, expires_us)
            for entity_id, features in rows
        )
        with self._write() as connection:
            connection.executemany(_UPSERT, values)
            self._purge_if_due(connection)

    def _purge_if_due(self, connection: sqlite3.Connection) -> None:
        now = time.monotonic()
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY_S
        now_us = time.time_ns() // 1000
        connection.execute("DELETE FROM online_features WHERE expires_at <= ?", (now_us,))

    def _touch(self, view: ViewKey, ids: list[str], event_us: int, expires_us: int, now_us: int) -> int:
        touched = 0
        with self._write() as connection:
            for chunk in chunked(ids, CHUNK):
                cursor = connection.execute(
                    "UPDATE online_features SET event_time = MAX(event_time, ?),"
                    f" expires_at = MAX(expires_at, ?) WHERE {_WHERE_VIEW} AND expires_at > ?"  # nosec B608  # constant SQL, values bound
                    f" AND entity_id IN ({', '.join('?' * len(chunk))})",
                    (event_us, expires_us, view.name, view.version, now_us, *chunk),
                )
                touched += cursor.rowcount
        return touched

    def _mark(self, view: ViewKey, at_us: int) -> None:
        with self._write() as connection:
            connection.execute(_MARK, (view.name, view.version, at_us))

    def _marked(self, view: ViewKey) -> int | None:
        row = (
            self._connection()
            .execute(f"SELECT refreshed_at FROM online_views WHERE {_WHERE_VIEW}", (view.name, view.version))  # nosec B608  # constant
            .fetchone()
        )
        return None if row is None else int(row[0])

    def _remove(self, view: ViewKey, entity_ids: list[str]) -> int:
        removed = 0
        with self._write() as connection:
            for chunk in chunked(entity_ids, CHUNK):
                cursor = connection.execute(
                    f"DELETE FROM online_features WHERE {_WHERE_VIEW}"  # nosec B608  # constant SQL, values bound
                    f" AND entity_id IN ({', '.join('?' * len(chunk))})",
                    (view.name, view.version, *chunk),
                )
                removed += cursor.rowcount
        return removed

    def _scan(self, view: ViewKey, now_us: int) -> Iterator[str]:
        # Keyset pages, so no read transaction stays open while the caller works.
        query = (
            f"SELECT entity_id FROM online_features WHERE {_WHERE_VIEW} AND expires_at > ?"  # nosec B608  # constant SQL
            " AND entity_id > ? ORDER BY entity_id LIMIT ?"
        )
        after = ""
        while True:
            page = [
                row[0]
                for row in self._connection().execute(query, (view.name, view.version, now_us, after, PAGE))
            ]
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1]

    def _fetch_times(self, view: ViewKey, entity_id: str) -> tuple[int, int] | None:
        row = (
            self._connection()
            .execute(
                f"SELECT event_time, expires_at FROM online_features WHERE {_WHERE_VIEW} AND entity_id = ?",  # nosec B608  # constant
                (view.name, view.version, entity_id),
            )
            .fetchone()
        )
        return None if row is None else (row[0], row[1])

    def _ping(self) -> str:
        mode = self._connection().execute("PRAGMA journal_mode").fetchone()[0]
        self._connection().execute("SELECT 1 FROM online_features LIMIT 1").fetchall()
        return f"sqlite {self.path} ({mode})"

    def _translate(self, exc: Exception) -> FeatureStoreError:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        if isinstance(exc, OSError | sqlite3.OperationalError | sqlite3.DatabaseError):
            return OnlineStoreUnavailable(
                f"cannot use the online feature store file {self.path} ({reason}); check that NIVESH_HOME is"
                f" writable and that no other process holds the file locked for over {BUSY_TIMEOUT_S:g} s"
            )
        return FeatureStoreError(f"the online feature store file {self.path} rejected a request ({reason})")

    def _release(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for _, connection in connections:
            connection.close()
        self._local = threading.local()


def _decode(found: tuple[bytes, int] | None, features: list[str] | None) -> Stored | None:
    if found is None:
        return None
    payload, expires_at = found
    row: dict[str, Any] = decode_value(payload)
    if features is not None:
        row = {name: row[name] for name in features if name in row}
    return expires_at, row
