"""A ``limits`` storage in one SQLite file, so worker processes on one machine share their counts.

``NIVESH_WORKERS=2`` on the embedded default (no Redis) used to give each worker its own
in-memory counters, doubling every key's limit. The workers of one server share a home, so
they share this file (``<home>/ratelimit.sqlite``, WAL): a hit is one short write transaction
(``BEGIN IMMEDIATE``), so two processes can never both take the last slot of a window.
Only what :class:`~limits.strategies.MovingWindowRateLimiter` needs is supported.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import MovingWindowSupport, Storage

__all__ = ["SQLiteStorage"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS hits_key_at ON hits (key, at)",
)


class SQLiteStorage(Storage, MovingWindowSupport):
    """Moving-window hits per key in a SQLite file shared by the processes that open it."""

    STORAGE_SCHEME = ["nivesh+sqlite"]  # noqa: RUF012 (limits reads it as a class attribute)

    def __init__(self, path: Path) -> None:
        super().__init__(f"nivesh+sqlite://{path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        with self._connection() as connection:
            for statement in _SCHEMA:
                connection.execute(statement)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        # One connection per thread: sqlite3 connections must not cross threads.
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=2.0, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")  # counts, not records: a crash may lose a second
            self._local.connection = connection
        return connection

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Take ``amount`` slots of ``key``'s window of ``expiry`` seconds, if ``limit`` allows."""
        if amount > limit:
            return False
        now = time.time()
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute("DELETE FROM hits WHERE key = ? AND at <= ?", (key, now - expiry))
            (count,) = connection.execute("SELECT count(*) FROM hits WHERE key = ?", (key,)).fetchone()
            if count + amount > limit:
                connection.execute("COMMIT")
                return False
            connection.executemany("INSERT INTO hits VALUES (?, ?)", [(key, now)] * amount)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """The start of ``key``'s window (its oldest live hit) and how many hits it holds."""
        now = time.time()
        oldest, count = (
            self._connection()
            .execute("SELECT min(at), count(*) FROM hits WHERE key = ? AND at > ?", (key, now - expiry))
            .fetchone()
        )
        return (float(oldest) if oldest is not None else now), int(count)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("SQLiteStorage serves the moving-window strategy only")

    def get(self, key: str) -> int:
        raise NotImplementedError("SQLiteStorage serves the moving-window strategy only")

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError("SQLiteStorage serves the moving-window strategy only")

    def check(self) -> bool:
        """Whether the file answers."""
        self._connection().execute("SELECT 1").fetchone()
        return True

    def reset(self) -> int | None:
        """Forget every key's hits; returns how many there were."""
        return self._connection().execute("DELETE FROM hits").rowcount

    def clear(self, key: str) -> None:
        """Forget ``key``'s hits."""
        self._connection().execute("DELETE FROM hits WHERE key = ?", (key,))
