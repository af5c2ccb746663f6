"""Engines and sessions for the app database: SQLite by default, PostgreSQL in production.

:func:`make_engine` is the one place a URL becomes an :class:`~sqlalchemy.engine.Engine`. It
connects once before returning, so an unreachable database fails there, as a one-line
:class:`~nivesh_ml.errors.DatabaseError` naming the URL (password masked) and what to check.

SQLite engines enforce foreign keys and let SQLAlchemy emit ``BEGIN`` itself (the sqlite3
driver's legacy mode would skip it for DDL and SAVEPOINT), so migrations are transactional and
savepoints work as on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from nivesh_ml.errors import DatabaseError

__all__ = ["make_engine", "make_session_factory", "mask_url", "session_scope"]

PG_CONNECT_TIMEOUT_S = 10
SQLITE_BUSY_TIMEOUT_S = 30  # how long a unit of work waits for another connection's write to end
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def mask_url(url: str | URL) -> str:
    """The URL as text with its password replaced by ``***`` (safe for logs and messages)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparseable URL>"


def make_engine(url: str, schema: str | None = None) -> Engine:
    """An engine for ``url``, checked by connecting once.

    ``schema`` (PostgreSQL only) becomes the ``search_path`` of every connection, so tables
    and Alembic's version table live there: one database can hold isolated copies.
    Raises :class:`DatabaseError` when the URL is unusable or the database unreachable.
    """
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema is not None:
            raise ValueError("a schema is only supported on PostgreSQL")
        engine = _sqlite_engine(parsed)
    elif backend == "postgresql":
        engine = _postgres_engine(parsed, schema)
    else:
        raise DatabaseError(
            f"unsupported app database {mask_url(parsed)}: use sqlite:/// or postgresql+psycopg://"
        )
    _ping(engine)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit (no expire on commit)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back if it raises."""
    with make_session_factory(engine).begin() as session:
        yield session


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except exc.ArgumentError:
        raise DatabaseError(
            f"{mask_url(url)} is not a database URL: use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
        ) from None


def _sqlite_engine(url: URL) -> Engine:
    _make_parent_dir(url)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _make_parent_dir(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatabaseError(
            f"cannot create the folder for the app database {mask_url(url)}: {error.strerror}; "
            "check NIVESH_HOME points at a writable folder"
        ) from None


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy (see _sqlite_on_begin), then enforce foreign keys,
    # which SQLite leaves off unless asked on every connection.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front. A deferred transaction that reads and then
    # writes (revoking a key, recording feedback) while another connection commits cannot
    # wait for it: SQLite answers "database is locked" at once instead of calling the busy
    # handler, since waiting could deadlock. Every unit of work here is short, so
    # serialising them costs little; the busy timeout bounds how long one waits.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _postgres_engine(url: URL, schema: str | None) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    if schema is not None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"schema {schema!r} is not a plain identifier (letters, digits, _)")
        connect_args["options"] = f"-csearch_path={schema}"
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _ping(engine: Engine) -> None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except exc.DBAPIError as error:
        engine.dispose()
        raise DatabaseError(_unreachable_message(engine.url, error)) from error


def _unreachable_message(url: URL, error: exc.DBAPIError) -> str:
    lines = [line.strip() for line in str(error.orig).splitlines() if line.strip()]
    reason = lines[0] if lines else type(error.orig).__name__
    if url.get_backend_name() == "sqlite":
        check = "check that NIVESH_HOME (or NIVESH_DATABASE_URL) points at a writable file"
    else:
        check = "check that the server is running and NIVESH_DATABASE_URL names the right host, port and user"
    return f"cannot connect to the app database at {mask_url(url)}: {reason}; {check}"
