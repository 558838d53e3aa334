"""Initial control store: cursors, processed ids, applied versions, lineage, audit.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types: a revision never follows later edits of schema.py.
_TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "processed",
        sa.Column("stage", sa.String(100), primary_key=True),
        sa.Column("message_id", sa.String(100), primary_key=True),
        sa.Column("processed_at", _TS, nullable=False),
    )
    op.create_index("ix_processed_processed_at", "processed", ["processed_at"])
    op.create_table(
        "applied_versions",
        sa.Column("target", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("version", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "lineage",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("source_system", sa.String(50), nullable=False),
        sa.Column("source_type", sa.String(100), nullable=False),
        sa.Column("source_id", sa.String(300), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("operation", sa.String(100), nullable=False),
        sa.Column("target_key", sa.String(300), nullable=False),
        sa.Column("target_id", sa.String(300), nullable=True),
        sa.Column("command_id", sa.String(100), nullable=False),
        sa.Column("correlation_id", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(50), nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_lineage_source", "lineage", ["source_system", "source_id"])
    op.create_index("ix_lineage_command_id", "lineage", ["command_id"])
    op.create_table(
        "audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("detail", _JSON, nullable=False),
    )
    op.create_index("ix_audit_at", "audit", ["at"])


def downgrade() -> None:
    for table in ("audit", "lineage", "applied_versions", "processed", "cursors"):
        op.drop_table(table)
