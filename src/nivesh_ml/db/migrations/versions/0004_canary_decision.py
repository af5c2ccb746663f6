"""canary decision: why each canary ended in a promotion or a rollback

Exactly what ``nivesh_ml.db.models.CanaryDecision`` declares.

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-04 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the ``canary_decision`` table and its (model, time) index."""
    op.create_table(
        "canary_decision",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_key", sa.String(length=64), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("champion_version", sa.String(length=64), nullable=False),
        sa.Column("challenger_version", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.Column("loss", sa.String(length=64), nullable=False),
        sa.Column("champion_n", sa.Integer(), nullable=False),
        sa.Column("challenger_n", sa.Integer(), nullable=False),
        sa.Column("champion_loss", sa.Float(), nullable=False),
        sa.Column("challenger_loss", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("canary_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("outcome IN ('promoted', 'rolled_back')", name=op.f("ck_canary_decision_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canary_decision")),
    )
    op.create_index(
        op.f("ix_canary_decision_model_key_decided_at"),
        "canary_decision",
        ["model_key", "decided_at"],
        unique=False,
    )


def downgrade() -> None:
    """Drop the ``canary_decision`` table."""
    op.drop_index(op.f("ix_canary_decision_model_key_decided_at"), table_name="canary_decision")
    op.drop_table("canary_decision")
