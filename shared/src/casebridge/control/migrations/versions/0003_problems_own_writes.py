"""Configuration problems the services report (for `casebridge status`) and casebridge's own
writes to source records (echo suppression).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "problems",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", _TS, nullable=False),
        sa.Column("last_at", _TS, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "own_writes",
        sa.Column("system", sa.String(50), primary_key=True),
        sa.Column("record_id", sa.String(300), primary_key=True),
        sa.Column("version", _TS, nullable=False),
        sa.Column("written_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("own_writes")
    op.drop_table("problems")
