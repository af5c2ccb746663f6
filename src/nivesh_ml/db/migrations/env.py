"""Alembic environment for the app database.

:mod:`nivesh_ml.db.migrate` runs it with an open connection in ``config.attributes``; run
from the ``alembic`` command line instead, it builds an engine from ``sqlalchemy.url``.
Offline mode (``--sql``) renders the SQL for that URL's dialect.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection

from nivesh_ml.db.models import Base, UTCDateTime
from nivesh_ml.db.session import make_engine

target_metadata = Base.metadata


def _render_item(kind: str, obj: Any, _context: Any) -> str | Literal[False]:
    # Migrations stay free of the package's Python-side types: in DDL UTCDateTime is timestamptz.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: later migrations copy tables ("batch" mode).
        render_as_batch=connection.dialect.name == "sqlite",
        # make_engine has SQLAlchemy emit BEGIN on SQLite too, so its DDL is transactional.
        transactional_ddl=True,
        compare_type=True,
        compare_server_default=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        _run_offline()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_online(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url, or run migrations through nivesh_ml.db.migrate")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _run_online(connection)
    finally:
        engine.dispose()


_main()
