"""The PostgreSQL writer of the `ona` target: COPY into session temp tables, then one
`INSERT … ON CONFLICT DO UPDATE … WHERE` per table with the stale-write guard (`loader.ona.sql`),
one commit per batch."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime

import psycopg
import structlog

from loader.ona import sql
from loader.ona.rows import OnaRows
from loader.ona.writer import DatabaseUnavailable, RowRefused, WriteFailed

log = structlog.get_logger(__name__)


class PostgresOnaWriter:
    """One psycopg connection, opened on first use and after a lost connection."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def connect(self) -> None:
        """Connect and create the session's staging tables."""
        try:
            await self._connection()
        except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
            raise DatabaseUnavailable(type(exc).__name__) from exc

    async def upsert(self, batch: Sequence[OnaRows]) -> set[str]:
        """COPY -> INSERT … ON CONFLICT for cases and services, one commit; keys written."""
        try:
            return await self._upsert(batch)
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            raise RowRefused(f"{exc.sqlstate or '-'} {type(exc).__name__}") from exc
        except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
            await self.close()
            raise DatabaseUnavailable(type(exc).__name__) from exc
        except psycopg.Error as exc:
            log.warning("ona_batch_failed", error_class=type(exc).__name__, sqlstate=exc.sqlstate)
            raise WriteFailed(type(exc).__name__) from exc

    async def _upsert(self, batch: Sequence[OnaRows]) -> set[str]:
        services: dict[str, tuple[datetime, tuple[object, ...]]] = {}
        for rows in batch:
            for row in rows.services:
                seen = services.get(row[1])
                if seen is None or seen[0] <= rows.version:
                    services[row[1]] = (rows.version, row)
        conn = await self._connection()
        async with conn.transaction(), conn.cursor() as cur:
            async with cur.copy(sql.COPY_CASES) as copy:
                for rows in batch:
                    await copy.write_row(rows.case)
            if services:
                async with cur.copy(sql.COPY_SERVICES) as copy:
                    for _, row in services.values():
                        await copy.write_row(row)
            await cur.execute(sql.UPSERT_CASES)
            written = {str(r[0]) for r in await cur.fetchall()}
            if services:
                await cur.execute(sql.UPSERT_SERVICES)
                written.update(str(r[0]) for r in await cur.fetchall())
        return written

    async def _connection(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            conn = await psycopg.AsyncConnection.connect(self._url, connect_timeout=10)
            await conn.execute(sql.CREATE_STAGING)
            await conn.commit()
            self._conn = conn
            log.info("ona_connected")
        return self._conn

    async def close(self) -> None:
        """Close the connection; the next batch reconnects."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
