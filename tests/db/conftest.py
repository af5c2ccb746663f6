"""App database fixtures: every test runs on SQLite and on the real PostgreSQL.

PostgreSQL tests share one uniquely named schema per test session (dropped with CASCADE at
the end) and start from an empty one: the schema is recreated before each test. Select only
the embedded backend with ``-m "not postgres"``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from nivesh_ml.db.migrate import upgrade
from nivesh_ml.db.session import make_engine
from nivesh_ml.errors import DatabaseError

PG_URL = os.environ.get("NIVESH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An engine on the test PostgreSQL database's default schema (for creating and dropping schemas)."""
    try:
        engine = make_engine(PG_URL)
    except DatabaseError as error:
        pytest.fail(f"{error} (deselect these tests with -m 'not postgres')")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_schema(pg_admin: Engine) -> Iterator[str]:
    """This test session's own schema, dropped with everything in it at the end."""
    name = f"nivesh_test_{uuid.uuid4().hex[:12]}"
    yield name
    with pg_admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The app database URL: a SQLite file under tmp_path (its folder not yet created), or PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'db' / 'nivesh.db').as_posix()}"
    return PG_URL


@pytest.fixture
def db_schema(db_url: str, request: pytest.FixtureRequest) -> str | None:
    """None on SQLite; on PostgreSQL the session's schema, emptied for this test."""
    if not db_url.startswith("postgresql"):
        return None
    schema: str = request.getfixturevalue("pg_schema")
    admin: Engine = request.getfixturevalue("pg_admin")
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    return schema


@pytest.fixture
def engine(db_url: str, db_schema: str | None) -> Iterator[Engine]:
    """An engine on a database migrated to head."""
    upgrade(db_url, schema=db_schema)
    engine = make_engine(db_url, db_schema)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the migrated database; tests commit or flush as they need."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
