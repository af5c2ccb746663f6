"""Programmatic Alembic: create, migrate and inspect the app database from code or the CLI.

The migration scripts ship inside the package (``nivesh_ml/db/migrations``) and the Alembic
``Config`` is built here, so ``nivesh-ml db upgrade`` works from an installed package with no
``alembic.ini`` in the working directory. Every function takes the same URL (and optional
PostgreSQL schema) as :func:`nivesh_ml.db.session.make_engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, exc, make_url, text

from nivesh_ml.db.session import make_engine, mask_url
from nivesh_ml.errors import DatabaseError
from nivesh_ml.log import get_logger

__all__ = ["MIGRATIONS_DIR", "current", "downgrade", "head", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

log = get_logger(__name__)


def upgrade(url: str, revision: str = "head", *, schema: str | None = None) -> None:
    """Migrate the database up to ``revision``; running it again once there does nothing.

    On PostgreSQL a given ``schema`` is created first if it does not exist.
    """
    with _connection(url, schema) as connection:
        if schema is not None:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        _migrate(connection, command.upgrade, revision)


def downgrade(url: str, revision: str, *, schema: str | None = None) -> None:
    """Migrate the database down to ``revision`` (``"base"`` removes every table)."""
    with _connection(url, schema) as connection:
        _migrate(connection, command.downgrade, revision)


def current(url: str, *, schema: str | None = None) -> str | None:
    """The database's revision, or None when it has never been migrated (or does not exist yet)."""
    if _sqlite_file_missing(url):
        return None
    with _connection(url, schema) as connection:
        return _revision(connection)


def head() -> str:
    """The newest revision the shipped migration scripts define."""
    heads = ScriptDirectory.from_config(_config()).get_heads()
    if len(heads) != 1:
        raise DatabaseError(f"the migration scripts have {len(heads)} heads, expected one: {heads}")
    return heads[0]


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    # ConfigParser interpolates '%': a path holding one must double it.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _connection(url: str, schema: str | None) -> Iterator[Connection]:
    engine = make_engine(url, schema)
    try:
        with engine.begin() as connection:
            yield connection
    except (CommandError, exc.DBAPIError) as error:
        raise DatabaseError(_failure_message(url, error)) from error
    finally:
        engine.dispose()


def _migrate(connection: Connection, step: Callable[[Config, str], None], revision: str) -> None:
    where = mask_url(connection.engine.url)
    before = _revision(connection)
    log.info(f"app database at {where}: at {before or 'base'}, migrating to {revision}")
    step(_config(connection), revision)
    after = _revision(connection)
    if after == before:
        log.info(f"app database already at {after or 'base'}: nothing to do")
    else:
        log.info(f"app database migrated from {before or 'base'} to {after or 'base'}")


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _sqlite_file_missing(url: str) -> bool:
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        return False  # make_engine reports it
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return False
    return not database.startswith("file:") and not Path(database).expanduser().exists()


def _failure_message(url: str, error: Exception) -> str:
    detail = error.orig if isinstance(error, exc.DBAPIError) else error
    lines = [line.strip() for line in str(detail).splitlines() if line.strip()]
    reason = lines[0] if lines else type(detail).__name__
    return f"cannot migrate the app database at {mask_url(url)}: {reason}"
