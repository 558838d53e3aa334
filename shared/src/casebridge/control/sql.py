"""`ControlStore` on SQLAlchemy Core: one code path for PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from casebridge.control import schema
from casebridge.control.engine import create_control_engine
from casebridge.control.migrate import migrate
from casebridge.control.model import AuditEntry, Cursor, LineageEntry
from casebridge.control.store import ControlStore

#: Ids per statement: one round trip per consumer batch, well under both dialects' bind limits.
BATCH = 1000

Clock = Callable[[], datetime]
_T = TypeVar("_T")


def utc_now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Iterable[_T], size: int = BATCH) -> Iterator[list[_T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


_LINEAGE_FIELDS = (
    "source_system",
    "source_type",
    "source_id",
    "target",
    "operation",
    "target_key",
    "command_id",
    "correlation_id",
    "outcome",
    "at",
    "target_id",
)


class SqlControlStore(ControlStore):
    """The control store over an async engine whose schema `migrate()` has brought to head."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock = utc_now) -> None:
        self.engine = engine
        self._clock = clock

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which is the one that knows ON CONFLICT."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    # cursors

    async def get_cursor(self, name: str) -> Cursor | None:
        c = schema.cursors.c
        query = sa.select(c.name, c.value, c.updated_at).where(c.name == name)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return Cursor(*row) if row else None

    async def set_cursor(self, name: str, value: str) -> None:
        stmt = self._insert(schema.cursors).values(name=name, value=value, updated_at=self._clock())
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def delete_cursor(self, name: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(schema.cursors).where(schema.cursors.c.name == name))

    async def list_cursors(self) -> list[Cursor]:
        c = schema.cursors.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(c.name, c.value, c.updated_at).order_by(c.name))
        return [Cursor(*row) for row in rows]

    # processed message ids

    async def seen(self, stage: str, message_ids: Iterable[str]) -> set[str]:
        c = schema.processed.c
        found: set[str] = set()
        async with self.engine.connect() as conn:
            for chunk in _chunks(dict.fromkeys(message_ids)):
                query = sa.select(c.message_id).where(c.stage == stage, c.message_id.in_(chunk))
                found.update((await conn.scalars(query)).all())
        return found

    async def remember(self, stage: str, message_ids: Iterable[str]) -> None:
        now = self._clock()
        async with self.engine.begin() as conn:
            for chunk in _chunks(dict.fromkeys(message_ids)):
                rows = [{"stage": stage, "message_id": m, "processed_at": now} for m in chunk]
                stmt = self._insert(schema.processed).values(rows).on_conflict_do_nothing()
                await conn.execute(stmt)

    async def prune_processed(self, older_than: timedelta) -> int:
        """Forget ids processed before now - `older_than`; redeliveries come far sooner."""
        cutoff = self._clock() - older_than
        table = schema.processed
        async with self.engine.begin() as conn:
            result = await conn.execute(sa.delete(table).where(table.c.processed_at < cutoff))
        return int(result.rowcount)

    # applied versions

    async def applied_version(self, target: str, key: str) -> datetime | None:
        c = schema.applied_versions.c
        query = sa.select(c.version).where(c.target == target, c.key == key)
        async with self.engine.connect() as conn:
            version: datetime | None = await conn.scalar(query)
        return version

    async def set_applied_version(self, target: str, key: str, version: datetime) -> None:
        table = schema.applied_versions
        stmt = self._insert(table).values(
            target=target, key=key, version=version, updated_at=self._clock()
        )
        # One statement: concurrent loaders cannot interleave a read and a write here.
        stmt = stmt.on_conflict_do_update(
            index_elements=["target", "key"],
            set_={"version": stmt.excluded.version, "updated_at": stmt.excluded.updated_at},
            where=table.c.version < stmt.excluded.version,
        )
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    # lineage

    async def record_lineage(self, entries: Iterable[LineageEntry]) -> None:
        async with self.engine.begin() as conn:
            for chunk in _chunks(entries):
                rows = [{f: getattr(e, f) for f in _LINEAGE_FIELDS} for e in chunk]
                await conn.execute(sa.insert(schema.lineage), rows)

    async def lineage_of(self, source_system: str, source_id: str) -> list[LineageEntry]:
        c = schema.lineage.c
        query = (
            sa.select(*(c[f] for f in _LINEAGE_FIELDS))
            .where(c.source_system == source_system, c.source_id == source_id)
            .order_by(c.at, c.id)
        )
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
        return [LineageEntry(**row._asdict()) for row in rows]

    # audit

    async def audit(self, entry: AuditEntry) -> None:
        row = {
            "actor": entry.actor,
            "action": entry.action,
            "at": entry.at,
            "count": entry.count,
            "detail": entry.detail,
        }
        async with self.engine.begin() as conn:
            await conn.execute(sa.insert(schema.audit).values(row))

    async def audit_log(self, since: datetime | None = None) -> list[AuditEntry]:
        c = schema.audit.c
        query = sa.select(c.actor, c.action, c.at, c.count, c.detail).order_by(c.at, c.id)
        if since is not None:
            query = query.where(c.at >= since)
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
        return [AuditEntry(**row._asdict()) for row in rows]

    async def close(self) -> None:
        await self.engine.dispose()


async def open_control_store(url: str, *, clock: Clock = utc_now) -> SqlControlStore:
    """Connect to `CONTROL_DATABASE_URL`, migrate to head, and return the store."""
    engine = create_control_engine(url)
    try:
        await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    return SqlControlStore(engine, clock=clock)
