"""The ``api_key`` table (migration 0002) on SQLite and PostgreSQL, and key checks against it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nivesh_ml.db.models import ApiKey, utcnow


def test_migration_creates_the_table_with_a_unique_prefix(engine: Engine) -> None:
    inspector = inspect(engine)
    columns = {column["name"] for column in inspector.get_columns("api_key")}
    assert columns == {"id", "name", "prefix", "hash", "salt", "scopes", "created_at", "revoked_at"}
    uniques = {(u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints("api_key")}
    assert uniques == {("uq_api_key_prefix", ("prefix",))}


def test_a_key_row_round_trips_and_prefixes_are_unique(session: Session) -> None:
    row = ApiKey(name="ci", prefix="0a1b2c3d", hash="f" * 64, salt="0" * 32, scopes=["predict", "admin"])
    session.add(row)
    session.commit()
    stored = session.get(ApiKey, row.id)
    assert stored is not None
    assert stored.scopes == ["predict", "admin"]
    assert stored.created_at.tzinfo is not None
    assert stored.revoked_at is None
    stored.revoked_at = utcnow()
    session.commit()
    assert "revoked" in repr(stored)
    session.add(ApiKey(name="other", prefix="0a1b2c3d", hash="e" * 64, salt="1" * 32, scopes=["predict"]))
    with pytest.raises(IntegrityError):
        session.commit()
