"""The SQLite writer of the `ona` target, for the one-command local mode (no PostgreSQL).

Same schema (the Alembic migrations run on SQLite too), same statement shape and the same
stale-write guard as `loader.ona.sql`: rows go into temp staging tables, then one
`INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE` per table, one transaction per batch.
Differences are SQLite's: `executemany` instead of COPY, `IS NOT` for `IS DISTINCT FROM`, the
load time from `strftime`, and times stored as UTC text in SQLAlchemy's SQLite format
(`YYYY-MM-DD HH:MM:SS.ffffff`), which orders like the times themselves, so the guard's `<`
compares versions correctly.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import aiosqlite
import structlog
from sqlalchemy.engine import make_url

from loader.ona.rows import CASE_COLUMNS, SERVICE_COLUMNS, OnaRows
from loader.ona.sql import (
    CASE_TABLE_COLUMNS,
    CASE_VALUES,
    SERVICE_VALUES,
    STAGE_CASES,
    STAGE_SERVICES,
    stale_write_guard,
)
from loader.ona.writer import DatabaseUnavailable, RowRefused, WriteFailed

log = structlog.get_logger(__name__)

CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_CASES}"
    f" ({', '.join(CASE_COLUMNS)}, source_last_updated_at)",
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_SERVICES}"
    f" ({', '.join(SERVICE_COLUMNS)}, source_last_updated_at)",
)
_CASE_MARKS = ", ".join("?" * (len(CASE_COLUMNS) + 1))
_SERVICE_MARKS = ", ".join("?" * (len(SERVICE_COLUMNS) + 1))
# Built from the constant column names only; values always travel as parameters.
STAGE_CASE = f"INSERT INTO {STAGE_CASES} VALUES ({_CASE_MARKS})"  # noqa: S608
STAGE_SERVICE = f"INSERT INTO {STAGE_SERVICES} VALUES ({_SERVICE_MARKS})"  # noqa: S608


def _guard(table: str, columns: tuple[str, ...]) -> str:
    return stale_write_guard(table, columns, differs="IS NOT")


# `WHERE true` before ON CONFLICT: SQLite's parser needs it after a join (its documented rule).
UPSERT_CASES = f"""
INSERT INTO cases ({", ".join(CASE_TABLE_COLUMNS)})
SELECT s.case_id, strftime('%Y-%m-%d %H:%M:%S', 'now'), s.registration_date, s.case_source,
    s.disabled, s.type_of_case, s.sex, s.age, s.protection_concerns, s.placement_type,
    s.consent_for_reporting, s.location_code,
    lc.province, lc.province_code, lc.district, lc.code,
    lg.province, lg.province_code, lg.district, lg.code,
    s.source_last_updated_at
FROM {STAGE_CASES} s
LEFT JOIN locations_lookup lc ON lc.code = s.current_district_key
LEFT JOIN locations_lookup lg ON lg.code = s.caregiver_district_key
WHERE true
ON CONFLICT (case_id) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in CASE_TABLE_COLUMNS[1:])}
WHERE {_guard("cases", CASE_VALUES)}
RETURNING case_id
"""  # noqa: S608

UPSERT_SERVICES = f"""
INSERT INTO services (case_id, unique_id, service_type, service_date, source_last_updated_at)
SELECT case_id, unique_id, service_type, service_date, source_last_updated_at
FROM {STAGE_SERVICES}
WHERE true
ON CONFLICT (unique_id) DO UPDATE SET
    case_id = excluded.case_id, service_type = excluded.service_type,
    service_date = excluded.service_date, source_last_updated_at = excluded.source_last_updated_at
WHERE {_guard("services", SERVICE_VALUES)}
RETURNING case_id
"""  # noqa: S608


def sqlite_value(value: object) -> object:
    """A row value as SQLite stores it: times as UTC text, dates as ISO text."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def sqlite_path(url: str) -> str:
    """The file of a `sqlite:///…` URL (relative paths stay relative to the working directory)."""
    database = make_url(url).database
    if not database:
        raise ValueError("ONA_DATABASE_URL names no SQLite file")
    return database


class SqliteOnaWriter:
    """One aiosqlite connection in autocommit mode; each batch is an explicit transaction."""

    def __init__(self, url: str) -> None:
        self._path = sqlite_path(url)
        self._conn: aiosqlite.Connection | None = None

    async def connect(self) -> None:
        """Open the file and create the staging tables (temp: per connection)."""
        if self._conn is not None:
            return
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = await aiosqlite.connect(self._path, isolation_level=None)
            await conn.execute("PRAGMA busy_timeout = 5000")
            for statement in CREATE_STAGING:
                await conn.execute(statement)
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseUnavailable(type(exc).__name__) from exc
        self._conn = conn
        log.info("ona_connected", database="sqlite")

    async def upsert(self, batch: Sequence[OnaRows]) -> set[str]:
        """Stage the rows, upsert cases then services, commit; the case ids written."""
        services: dict[str, tuple[datetime, tuple[object, ...]]] = {}
        for rows in batch:
            for row in rows.services:
                seen = services.get(str(row[1]))
                if seen is None or seen[0] <= rows.version:
                    services[str(row[1])] = (rows.version, row)
        await self.connect()
        conn = self._conn
        assert conn is not None
        try:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                written = await self._write(conn, batch, [row for _, row in services.values()])
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            raise RowRefused(f"- {type(exc).__name__}") from exc
        except sqlite3.OperationalError as exc:  # locked, disk full, file gone
            await self.close()
            raise DatabaseUnavailable(type(exc).__name__) from exc
        except sqlite3.Error as exc:
            log.warning("ona_batch_failed", error_class=type(exc).__name__)
            raise WriteFailed(type(exc).__name__) from exc
        return written

    @staticmethod
    async def _write(
        conn: aiosqlite.Connection,
        batch: Sequence[OnaRows],
        services: list[tuple[object, ...]],
    ) -> set[str]:
        await conn.execute(f"DELETE FROM {STAGE_CASES}")  # noqa: S608
        await conn.execute(f"DELETE FROM {STAGE_SERVICES}")  # noqa: S608
        await conn.executemany(
            STAGE_CASE, [tuple(sqlite_value(v) for v in rows.case) for rows in batch]
        )
        await conn.executemany(
            STAGE_SERVICE, [tuple(sqlite_value(v) for v in row) for row in services]
        )
        async with conn.execute(UPSERT_CASES) as cursor:
            written = {str(r[0]) for r in await cursor.fetchall()}
        if services:
            async with conn.execute(UPSERT_SERVICES) as cursor:
                written.update(str(r[0]) for r in await cursor.fetchall())
        return written

    async def close(self) -> None:
        """Close the connection; the next batch reopens it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
