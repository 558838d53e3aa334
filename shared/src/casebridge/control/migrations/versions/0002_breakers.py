"""Circuit breakers: each loader process's last breaker change per target.

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "breakers",
        sa.Column("target", sa.String(100), primary_key=True),
        sa.Column("instance", sa.String(200), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("since", _TS, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error_class", sa.String(200), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("breakers")
