"""ONA dashboard tables: cases (20 columns), services (4), locations_lookup, data_dictionary.

The dashboard's columns and keys follow `reference/mappings/ona-columns.json`; their types are
casebridge's choice (the ONA DDL is not in any repository, MAPPINGS G5) and are documented in
services/loader/README.md. Each written table carries one more column,
`source_last_updated_at`: the Primero `last_updated_at` of the row, which the stale-write guard
of the upsert compares. `locations_lookup` and `data_dictionary` are ONA's: the loader reads the
first and never writes either.

Revision ID: ona_0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ona_0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TEXT = sa.Text()
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "locations_lookup",
        sa.Column("code", _TEXT, primary_key=True, comment="district code (3 or 4 characters)"),
        sa.Column("district", _TEXT),
        sa.Column("province", _TEXT),
        sa.Column("province_code", _TEXT),
    )
    op.create_table(
        "data_dictionary",
        sa.Column("table_name", _TEXT, primary_key=True),
        sa.Column("column_name", _TEXT, primary_key=True),
        sa.Column("value", _TEXT, primary_key=True, server_default="", comment="'' = the column"),
        sa.Column("label_en", _TEXT, nullable=False),
        sa.Column("label_km", _TEXT, comment="Khmer label"),
    )
    op.create_table(
        "cases",
        sa.Column("case_id", _TEXT, primary_key=True, comment="Primero case_id_display"),
        sa.Column("last_updated_date", sa.DateTime(timezone=False), nullable=False),
        sa.Column("registration_date", sa.Date()),
        sa.Column("case_source", _TEXT, nullable=False),
        sa.Column("disabled", _TEXT),
        sa.Column("type_of_case", _TEXT),
        sa.Column("sex", _TEXT),
        sa.Column("age", sa.Integer()),
        sa.Column("protection_concerns", _TEXT),
        sa.Column("placement_type", _TEXT),
        sa.Column("consent_for_reporting", _TEXT),
        sa.Column("location_code", _TEXT),
        sa.Column("province_current", _TEXT),
        sa.Column("province_current_code", _TEXT),
        sa.Column("district_current", _TEXT),
        sa.Column("district_current_code", _TEXT),
        sa.Column("province_caregiver", _TEXT),
        sa.Column("province_caregiver_code", _TEXT),
        sa.Column("district_caregiver", _TEXT),
        sa.Column("district_caregiver_code", _TEXT),
        sa.Column("source_last_updated_at", _TS, nullable=False),
    )
    op.create_table(
        "services",
        sa.Column("case_id", _TEXT, nullable=False),
        sa.Column("unique_id", _TEXT, primary_key=True),
        sa.Column("service_type", _TEXT),
        sa.Column("service_date", _TS),
        sa.Column("source_last_updated_at", _TS, nullable=False),
    )
    op.create_index("ix_services_case_id", "services", ["case_id"])


def downgrade() -> None:
    for table in ("services", "cases", "data_dictionary", "locations_lookup"):
        op.drop_table(table)
