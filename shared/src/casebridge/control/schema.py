"""The control store's tables, as SQLAlchemy Core metadata the queries are written against.

The migrations under `migrations/versions/` are the schema's source of truth; this module
mirrors them for the query builder and must change together with a new revision.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out: SQLite keeps naive text, PostgreSQL a `timestamptz`.

    Naive input is refused rather than guessed, so a local-time bug cannot slip in silently.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the control store needs aware datetimes")
        utc = value.astimezone(UTC)
        # SQLite's DATETIME drops the offset; naive UTC keeps text comparisons correct.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: An integer primary key that autoincrements on both dialects (SQLite needs INTEGER for rowid).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: JSON on SQLite, JSONB on PostgreSQL.
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

metadata = sa.MetaData()

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

processed = sa.Table(
    "processed",
    metadata,
    sa.Column("stage", sa.String(100), primary_key=True),
    sa.Column("message_id", sa.String(100), primary_key=True),
    sa.Column("processed_at", UtcDateTime(), nullable=False, index=True),
)

applied_versions = sa.Table(
    "applied_versions",
    metadata,
    sa.Column("target", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("version", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

lineage = sa.Table(
    "lineage",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
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
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Index("ix_lineage_source", "source_system", "source_id"),
    sa.Index("ix_lineage_command_id", "command_id"),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(200), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False, index=True),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Column("detail", Json, nullable=False),
)

#: One row per (target, loader process): its breaker's last state change (revision 0002).
breakers = sa.Table(
    "breakers",
    metadata,
    sa.Column("target", sa.String(100), primary_key=True),
    sa.Column("instance", sa.String(200), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("since", UtcDateTime(), nullable=False),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("last_error_class", sa.String(200), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

#: A configuration problem a service reports until it is fixed (revision 0003): one row per
#: source (e.g. `fetcher-primero:p3`), `since` its first report, `count` the reports since.
problems = sa.Table(
    "problems",
    metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("since", UtcDateTime(), nullable=False),
    sa.Column("last_at", UtcDateTime(), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
)

#: The version (`last_updated_at`) casebridge's own latest write left on a source record
#: (revision 0003): a fetcher that reads the record at exactly that version skips it (echo).
own_writes = sa.Table(
    "own_writes",
    metadata,
    sa.Column("system", sa.String(50), primary_key=True),
    sa.Column("record_id", sa.String(300), primary_key=True),
    sa.Column("version", UtcDateTime(), nullable=False),
    sa.Column("written_at", UtcDateTime(), nullable=False),
)
