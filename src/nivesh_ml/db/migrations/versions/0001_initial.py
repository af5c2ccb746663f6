"""initial: model_registry, model_deployment, model_prediction, training_dataset

Exactly what ``nivesh_ml.db.models`` declares (the tests compare the two with Alembic's
autogenerate on SQLite and PostgreSQL). Constraint names follow the models' naming convention.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.JSON:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
    )


def _timestamp(name: str, *, nullable: bool = False, now: bool = True) -> sa.Column[datetime]:
    default = sa.func.now() if now else None
    return sa.Column(name, sa.DateTime(timezone=True), server_default=default, nullable=nullable)


def upgrade() -> None:
    """Create the four tables, their constraints and indexes."""
    op.create_table(
        "model_registry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("model_type", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("framework", sa.String(length=64), nullable=False),
        sa.Column("artifact_path", sa.String(length=1024), nullable=False),
        sa.Column("metrics", _json(), nullable=False),
        sa.Column("training_data_version", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=32), server_default="staging", nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        _timestamp("deployed_at", nullable=True, now=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "status IN ('staging', 'production', 'archived')",
            name=op.f("ck_model_registry_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_registry")),
        sa.UniqueConstraint("model_name", "version", name=op.f("uq_model_registry_model_name_version")),
    )
    op.create_table(
        "model_deployment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("endpoint_url", sa.String(length=1024), nullable=False),
        sa.Column("traffic_percentage", sa.Integer(), server_default=sa.text("100"), nullable=False),
        sa.Column("status", sa.String(length=32), server_default="active", nullable=False),
        _timestamp("deployed_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "status IN ('active', 'inactive', 'rolled_back')", name=op.f("ck_model_deployment_status")
        ),
        sa.CheckConstraint(
            "traffic_percentage >= 0 AND traffic_percentage <= 100",
            name=op.f("ck_model_deployment_traffic_percentage"),
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["model_registry.id"],
            name=op.f("fk_model_deployment_model_id_model_registry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_deployment")),
    )
    op.create_index(op.f("ix_model_deployment_model_id"), "model_deployment", ["model_id"])
    op.create_table(
        "model_prediction",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("input_data", _json(), nullable=False),
        sa.Column("prediction", _json(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("actual_outcome", _json(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["model_id"], ["model_registry.id"], name=op.f("fk_model_prediction_model_id_model_registry")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_prediction")),
    )
    op.create_index(op.f("ix_model_prediction_created_at"), "model_prediction", ["created_at"])
    op.create_index(
        op.f("ix_model_prediction_model_id_created_at"), "model_prediction", ["model_id", "created_at"]
    )
    op.create_table(
        "training_dataset",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dataset_name", sa.String(length=128), nullable=False),
        sa.Column("model_type", sa.String(length=64), nullable=False),
        sa.Column("data_source", sa.String(length=256), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("s3_path", sa.String(length=1024), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint("length(content_hash) = 64", name=op.f("ck_training_dataset_content_hash_sha256")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_dataset")),
        sa.UniqueConstraint(
            "dataset_name", "content_hash", name=op.f("uq_training_dataset_dataset_name_content_hash")
        ),
    )
    op.create_index(op.f("ix_training_dataset_content_hash"), "training_dataset", ["content_hash"])


def downgrade() -> None:
    """Drop the four tables (indexes and constraints go with them)."""
    op.drop_table("training_dataset")
    op.drop_table("model_prediction")
    op.drop_table("model_deployment")
    op.drop_table("model_registry")
