"""drift check: every drift check's verdict, for the model server's gauges

Exactly what ``nivesh_ml.db.models.DriftCheck`` declares. The check runs where the data is (the CLI,
an Airflow task) and the servers read its result here, so no container depends on another's files.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the ``drift_check`` table and its (model, time) index."""
    op.create_table(
        "drift_check",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_key", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("drift_share", sa.Float(), nullable=False),
        sa.Column("dataset_drift", sa.Boolean(), nullable=False),
        sa.Column(
            "columns",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("reference_rows", sa.Integer(), nullable=False),
        sa.Column("current_rows", sa.Integer(), nullable=False),
        sa.Column("report_path", sa.String(length=1024), nullable=True),
        sa.Column("mlflow_run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_check")),
    )
    op.create_index(
        op.f("ix_drift_check_model_key_checked_at"), "drift_check", ["model_key", "checked_at"], unique=False
    )


def downgrade() -> None:
    """Drop the ``drift_check`` table."""
    op.drop_index(op.f("ix_drift_check_model_key_checked_at"), table_name="drift_check")
    op.drop_table("drift_check")
