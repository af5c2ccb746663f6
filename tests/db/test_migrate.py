"""Migrations: upgrade, idempotence, downgrade, and faithfulness to the models on both backends."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, inspect, make_url, text

from nivesh_ml.db import migrate
from nivesh_ml.db.models import Base
from nivesh_ml.db.session import make_engine
from nivesh_ml.errors import DatabaseError

TABLES = {
    "model_registry", "model_deployment", "model_prediction", "training_dataset", "api_key", "drift_check",
    "canary_decision",
}  # fmt: skip

COLUMNS = {
    "model_registry": {
        "id", "model_name", "model_type", "version", "framework", "artifact_path", "metrics",
        "training_data_version", "status", "created_by", "deployed_at", "created_at", "updated_at",
    },
    "model_deployment": {
        "id", "model_id", "environment", "endpoint_url", "traffic_percentage", "status", "deployed_at",
        "updated_at",
    },
    "model_prediction": {
        "id", "model_id", "user_id", "input_data", "prediction", "confidence", "actual_outcome",
        "latency_ms", "created_at",
    },
    "training_dataset": {
        "id", "dataset_name", "model_type", "data_source", "size", "s3_path", "content_hash", "created_at",
    },
    "api_key": {"id", "name", "prefix", "hash", "salt", "scopes", "created_at", "revoked_at"},
    "drift_check": {
        "id", "model_key", "model_name", "version", "window_start", "window_end", "checked_at", "drift_share",
        "dataset_drift", "columns", "reference_rows", "current_rows", "report_path", "mlflow_run_id",
    },
    "canary_decision": {
        "id", "model_key", "model_name", "champion_version", "challenger_version", "outcome", "reason",
        "loss", "champion_n", "challenger_n", "champion_loss", "challenger_loss", "p_value", "canary_since",
        "decided_at",
    },
}  # fmt: skip

CHECKS = {
    "canary_decision": {"ck_canary_decision_outcome"},
    "model_registry": {"ck_model_registry_status"},
    "model_deployment": {"ck_model_deployment_status", "ck_model_deployment_traffic_percentage"},
    "model_prediction": set(),
    "training_dataset": {"ck_training_dataset_content_hash_sha256"},
    "api_key": set(),
    "drift_check": set(),
}

INDEXES = {
    "model_registry": set(),
    "model_deployment": {"ix_model_deployment_model_id"},
    "model_prediction": {"ix_model_prediction_created_at", "ix_model_prediction_model_id_created_at"},
    "training_dataset": {"ix_training_dataset_content_hash"},
    "api_key": set(),
    "drift_check": {"ix_drift_check_model_key_checked_at"},
    "canary_decision": {"ix_canary_decision_model_key_decided_at"},
}


def _diff(engine: Engine, metadata: MetaData) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def test_upgrade_creates_the_four_tables_with_their_columns(engine: Engine) -> None:
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) == TABLES | {"alembic_version"}
    for table, columns in COLUMNS.items():
        assert {column["name"] for column in inspector.get_columns(table)} == columns


def test_upgrade_creates_the_named_constraints_and_indexes(engine: Engine) -> None:
    inspector = inspect(engine)
    for table in TABLES:
        assert inspector.get_pk_constraint(table)["constrained_columns"] == ["id"]
        assert {check["name"] for check in inspector.get_check_constraints(table)} == CHECKS[table]
        indexes = inspector.get_indexes(table)
        # PostgreSQL also lists the index behind each unique constraint.
        assert {i["name"] for i in indexes if not i.get("duplicates_constraint")} == INDEXES[table]
    uniques = {
        table: {(u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)}
        for table in ("model_registry", "training_dataset")
    }
    assert uniques["model_registry"] == {("uq_model_registry_model_name_version", ("model_name", "version"))}
    assert uniques["training_dataset"] == {
        ("uq_training_dataset_dataset_name_content_hash", ("dataset_name", "content_hash"))
    }
    (deployment_fk,) = inspector.get_foreign_keys("model_deployment")
    assert deployment_fk["referred_table"] == "model_registry"
    assert deployment_fk["options"].get("ondelete") == "CASCADE"


def test_migrated_database_matches_the_models(engine: Engine) -> None:
    assert _diff(engine, Base.metadata) == []


def test_the_comparison_sees_a_difference(engine: Engine) -> None:
    altered = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(altered)
    altered.tables["model_prediction"].append_column(Column("extra", Integer, nullable=True))
    diff = _diff(engine, altered)
    assert [(entry[0], entry[2], entry[3].name) for entry in diff] == [
        ("add_column", "model_prediction", "extra")
    ]


def test_upgrade_twice_does_nothing(
    db_url: str, db_schema: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    migrate.upgrade(db_url, schema=db_schema)
    with caplog.at_level(logging.INFO, logger="nivesh_ml"):
        migrate.upgrade(db_url, schema=db_schema)
    assert migrate.current(db_url, schema=db_schema) == migrate.head() == "0004"
    assert "already at 0004: nothing to do" in caplog.text


def test_downgrade_to_base_removes_the_tables(db_url: str, db_schema: str | None) -> None:
    migrate.upgrade(db_url, schema=db_schema)
    migrate.downgrade(db_url, "base", schema=db_schema)
    assert migrate.current(db_url, schema=db_schema) is None
    engine = make_engine(db_url, db_schema)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_0003_adds_drift_check_to_a_0002_database_and_removes_it_again(
    db_url: str, db_schema: str | None
) -> None:
    migrate.upgrade(db_url, "0002", schema=db_schema)
    engine = make_engine(db_url, db_schema)
    try:
        insert = (
            "INSERT INTO api_key (id, name, prefix, hash, salt, scopes) VALUES (:i, 'k', 'p', 'h', 's', :s)"
        )
        with engine.begin() as connection:
            connection.execute(text(insert), {"i": uuid.uuid4().hex, "s": "[]"})  # data from before 0003
        migrate.upgrade(db_url, schema=db_schema)
        assert "drift_check" in inspect(engine).get_table_names()
        migrate.downgrade(db_url, "0002", schema=db_schema)
        assert migrate.current(db_url, schema=db_schema) == "0002"
        assert "drift_check" not in inspect(engine).get_table_names()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM api_key")).scalar() == 1
    finally:
        engine.dispose()


def test_current_is_none_before_the_first_upgrade(db_url: str, db_schema: str | None) -> None:
    assert migrate.current(db_url, schema=db_schema) is None


def test_current_does_not_create_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "nivesh.db"
    assert migrate.current(f"sqlite:///{path.as_posix()}") is None
    assert not path.parent.exists()


def test_upgrade_runs_without_an_alembic_ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    migrate.upgrade("sqlite:///relative/nivesh.db")
    assert migrate.current("sqlite:///relative/nivesh.db") == "0004"
    assert (migrate.MIGRATIONS_DIR / "env.py").is_file()
    assert (migrate.MIGRATIONS_DIR / "script.py.mako").is_file()


def test_an_unknown_revision_is_a_database_error(db_url: str, db_schema: str | None) -> None:
    with pytest.raises(DatabaseError, match="cannot migrate the app database") as caught:
        migrate.upgrade(db_url, "no-such-revision", schema=db_schema)
    assert "\n" not in str(caught.value)


@pytest.mark.postgres
def test_version_table_lives_in_the_schema(pg_admin: Engine, pg_schema: str) -> None:
    schema = f"{pg_schema}_own"
    try:
        url = pg_admin.url.render_as_string(hide_password=False)
        migrate.upgrade(url, schema=schema)
        query = text("SELECT table_name FROM information_schema.tables WHERE table_schema = :schema")
        with pg_admin.connect() as connection:
            tables = set(connection.execute(query, {"schema": schema}).scalars())
        assert tables == TABLES | {"alembic_version"}
        assert migrate.current(url, schema=schema) == "0004"
    finally:
        with pg_admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def test_an_unreachable_server_is_a_one_line_database_error_with_the_password_masked() -> None:
    url = "postgresql+psycopg://nivesh:s3cret-pw@127.0.0.1:1/nivesh"
    for call in (migrate.upgrade, migrate.current, make_engine):
        with pytest.raises(DatabaseError) as caught:
            call(url)
        message = str(caught.value)
        masked = make_url(url).render_as_string(hide_password=True)
        assert message.startswith(f"cannot connect to the app database at {masked}: ")
        assert "nivesh:***@127.0.0.1:1" in masked
        assert "\n" not in message
        assert "s3cret-pw" not in message
        assert "check that the server is running" in message


@pytest.mark.parametrize("blocker", ["file", "folder"])
def test_an_unusable_sqlite_path_is_a_one_line_database_error(tmp_path: Path, blocker: str) -> None:
    # A file where the data dir should be, or a folder where the database file should be.
    path = tmp_path / "home" / "nivesh.db"
    if blocker == "file":
        path.parent.write_text("not a folder")
    else:
        path.mkdir(parents=True)
    with pytest.raises(DatabaseError, match=r"check( that)? NIVESH_HOME") as caught:
        migrate.upgrade(f"sqlite:///{path.as_posix()}")
    assert "\n" not in str(caught.value)


def test_a_bad_url_is_a_database_error() -> None:
    with pytest.raises(DatabaseError, match="not a database URL"):
        migrate.upgrade("not a url")
    with pytest.raises(DatabaseError, match="unsupported app database"):
        make_engine(f"mysql://root@127.0.0.1/{uuid.uuid4().hex}")
    with pytest.raises(ValueError, match="plain identifier"):
        make_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test", schema="x; DROP TABLE y")
    with pytest.raises(ValueError, match="only supported on PostgreSQL"):
        make_engine("sqlite://", schema="nivesh")
