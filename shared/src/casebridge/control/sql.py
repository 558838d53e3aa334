"""`ControlStore` on SQLAlchemy Core: one code path for PostgreSQL and SQLite."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import (
    AsyncIterator,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from casebridge.control import schema
from casebridge.control.engine import create_control_engine
from casebridge.control.migrate import migrate
from casebridge.control.model import AuditEntry, BreakerRecord, Cursor, LineageEntry, Problem
from casebridge.control.outage import translating_outages
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

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; an outage raises `ControlStoreUnavailable`."""
        async with translating_outages(), self.engine.connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction; an outage (also at commit) raises `ControlStoreUnavailable`."""
        async with translating_outages(), self.engine.begin() as conn:
            yield conn

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which is the one that knows ON CONFLICT."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    # The batch writes are executemany over statements built once: SQLAlchemy compiles each
    # once and caches it, where a multi-row VALUES statement was recompiled for every batch
    # (its shape changes with the row count) and the compile was most of the fetcher's and
    # the loader's write cost.

    @functools.cached_property
    def _remember_stmt(self) -> Any:
        return self._insert(schema.processed).on_conflict_do_nothing()

    @functools.cached_property
    def _set_versions_stmt(self) -> Any:
        table = schema.applied_versions
        stmt = self._insert(table)
        # One statement: concurrent loaders cannot interleave a read and a write here.
        return stmt.on_conflict_do_update(
            index_elements=["target", "key"],
            set_={"version": stmt.excluded.version, "updated_at": stmt.excluded.updated_at},
            where=table.c.version < stmt.excluded.version,
        )

    # cursors

    async def get_cursor(self, name: str) -> Cursor | None:
        c = schema.cursors.c
        query = sa.select(c.name, c.value, c.updated_at).where(c.name == name)
        async with self._connect() as conn:
            row = (await conn.execute(query)).first()
        return Cursor(*row) if row else None

    async def set_cursor(self, name: str, value: str) -> None:
        stmt = self._insert(schema.cursors).values(name=name, value=value, updated_at=self._clock())
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
        async with self._begin() as conn:
            await conn.execute(stmt)

    async def delete_cursor(self, name: str) -> None:
        async with self._begin() as conn:
            await conn.execute(sa.delete(schema.cursors).where(schema.cursors.c.name == name))

    async def list_cursors(self) -> list[Cursor]:
        c = schema.cursors.c
        async with self._connect() as conn:
            rows = await conn.execute(sa.select(c.name, c.value, c.updated_at).order_by(c.name))
        return [Cursor(*row) for row in rows]

    # processed message ids

    async def seen(self, stage: str, message_ids: Iterable[str]) -> set[str]:
        async with self._connect() as conn:
            return await self._seen(conn, stage, message_ids)

    async def remember(self, stage: str, message_ids: Iterable[str]) -> None:
        async with self._begin() as conn:
            await self._remember(conn, stage, message_ids, self._clock())

    async def forget(self, stage: str, message_ids: Iterable[str]) -> None:
        c = schema.processed.c
        async with self._begin() as conn:
            for chunk in _chunks(dict.fromkeys(message_ids)):
                await conn.execute(
                    sa.delete(schema.processed).where(c.stage == stage, c.message_id.in_(chunk))
                )

    async def _seen(self, conn: AsyncConnection, stage: str, ids: Iterable[str]) -> set[str]:
        c = schema.processed.c
        found: set[str] = set()
        for chunk in _chunks(dict.fromkeys(ids)):
            query = sa.select(c.message_id).where(c.stage == stage, c.message_id.in_(chunk))
            found.update((await conn.scalars(query)).all())
        return found

    async def _remember(
        self, conn: AsyncConnection, stage: str, ids: Iterable[str], now: datetime
    ) -> None:
        for chunk in _chunks(sorted(set(ids))):
            rows = [{"stage": stage, "message_id": m, "processed_at": now} for m in chunk]
            await conn.execute(self._remember_stmt, rows)

    async def prune_processed(self, older_than: timedelta) -> int:
        """Forget ids processed before now - `older_than`; redeliveries come far sooner."""
        cutoff = self._clock() - older_than
        table = schema.processed
        async with self._begin() as conn:
            result = await conn.execute(sa.delete(table).where(table.c.processed_at < cutoff))
        return int(result.rowcount)

    # applied versions

    async def applied_version(self, target: str, key: str) -> datetime | None:
        return (await self.applied_versions(target, [key])).get(key)

    async def applied_versions(self, target: str, keys: Iterable[str]) -> dict[str, datetime]:
        """Applied versions of many records of one target (absent keys have none)."""
        async with self._connect() as conn:
            return await self._applied_versions(conn, target, keys)

    async def set_applied_version(self, target: str, key: str, version: datetime) -> None:
        async with self._begin() as conn:
            await self._set_applied_versions(conn, {(target, key): version}, self._clock())

    async def _applied_versions(
        self, conn: AsyncConnection, target: str, keys: Iterable[str]
    ) -> dict[str, datetime]:
        c = schema.applied_versions.c
        found: dict[str, datetime] = {}
        for chunk in _chunks(dict.fromkeys(keys)):
            query = sa.select(c.key, c.version).where(c.target == target, c.key.in_(chunk))
            found.update((k, v) for k, v in await conn.execute(query))
        return found

    async def _set_applied_versions(
        self, conn: AsyncConnection, versions: Mapping[tuple[str, str], datetime], now: datetime
    ) -> None:
        """One upsert per key; callers pass one version per key (ON CONFLICT needs that)."""
        # Sorted: concurrent loaders lock rows in one order, so they cannot deadlock.
        ordered = sorted(versions.items())
        for chunk in _chunks(ordered):
            rows = [{"target": t, "key": k, "version": v, "updated_at": now} for (t, k), v in chunk]
            await conn.execute(self._set_versions_stmt, rows)

    # batches (the group commit of `BatchingControlStore`)

    async def read_batch(
        self, seen: Mapping[str, Collection[str]], versions: Mapping[str, Collection[str]]
    ) -> tuple[dict[str, set[str]], dict[str, dict[str, datetime]]]:
        """`seen` per stage and `applied_versions` per target, on one connection."""
        async with self._connect() as conn:
            found = {stage: await self._seen(conn, stage, ids) for stage, ids in seen.items()}
            applied = {
                target: await self._applied_versions(conn, target, keys)
                for target, keys in versions.items()
            }
        return found, applied

    async def write_batch(
        self,
        processed: Mapping[str, Collection[str]],
        versions: Mapping[tuple[str, str], datetime],
        lineage: Sequence[LineageEntry],
    ) -> None:
        """`remember`, `set_applied_version` and `record_lineage` in ONE transaction.

        `versions` holds one version per (target, key): the caller keeps the newest.
        """
        now = self._clock()
        async with self._begin() as conn:
            for stage, ids in processed.items():
                await self._remember(conn, stage, ids, now)
            if versions:
                await self._set_applied_versions(conn, versions, now)
            await self._record_lineage(conn, lineage)

    # lineage

    async def record_lineage(self, entries: Iterable[LineageEntry]) -> None:
        async with self._begin() as conn:
            await self._record_lineage(conn, entries)

    async def _record_lineage(self, conn: AsyncConnection, entries: Iterable[LineageEntry]) -> None:
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
        async with self._connect() as conn:
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
        async with self._begin() as conn:
            await conn.execute(sa.insert(schema.audit).values(row))

    async def audit_log(self, since: datetime | None = None) -> list[AuditEntry]:
        c = schema.audit.c
        query = sa.select(c.actor, c.action, c.at, c.count, c.detail).order_by(c.at, c.id)
        if since is not None:
            query = query.where(c.at >= since)
        async with self._connect() as conn:
            rows = await conn.execute(query)
        return [AuditEntry(**row._asdict()) for row in rows]

    # circuit breakers

    async def record_breaker(self, record: BreakerRecord) -> None:
        row = {
            "target": record.target,
            "instance": record.instance,
            "state": record.state,
            "since": record.since,
            "failures": record.failures,
            "last_error_class": record.last_error_class,
            "updated_at": self._clock(),
        }
        stmt = self._insert(schema.breakers).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=["target", "instance"],
            set_={k: stmt.excluded[k] for k in row if k not in ("target", "instance")},
        )
        async with self._begin() as conn:
            await conn.execute(stmt)

    async def forget_breaker(self, target: str, instance: str) -> None:
        c = schema.breakers.c
        async with self._begin() as conn:
            await conn.execute(
                sa.delete(schema.breakers).where(c.target == target, c.instance == instance)
            )

    async def list_breakers(self) -> list[BreakerRecord]:
        c = schema.breakers.c
        query = sa.select(
            c.target, c.instance, c.state, c.since, c.failures, c.last_error_class
        ).order_by(c.target, c.instance)
        async with self._connect() as conn:
            rows = await conn.execute(query)
        return [BreakerRecord(**row._asdict()) for row in rows]

    # configuration problems

    async def report_problem(self, source: str, reason: str) -> bool:
        c = schema.problems.c
        now = self._clock()
        async with self.engine.begin() as conn:
            found = (
                await conn.execute(sa.select(c.reason).where(c.source == source))
            ).scalar_one_or_none()
            if found == reason:
                await conn.execute(
                    sa.update(schema.problems)
                    .where(c.source == source)
                    .values(last_at=now, count=c.count + 1)
                )
                return False
            if found is not None:
                await conn.execute(sa.delete(schema.problems).where(c.source == source))
            await conn.execute(
                sa.insert(schema.problems).values(
                    source=source, reason=reason, since=now, last_at=now, count=1
                )
            )
            return True

    async def clear_problem(self, source: str) -> None:
        c = schema.problems.c
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(schema.problems).where(c.source == source))

    async def list_problems(self) -> list[Problem]:
        c = schema.problems.c
        query = sa.select(c.source, c.reason, c.since, c.last_at, c.count).order_by(c.source)
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
        return [Problem(**row._asdict()) for row in rows]

    # casebridge's own writes to source records

    async def record_own_write(self, system: str, record_id: str, version: datetime) -> None:
        table = schema.own_writes
        stmt = self._insert(table).values(
            system=system, record_id=record_id, version=version, written_at=self._clock()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["system", "record_id"],
            set_={"version": stmt.excluded.version, "written_at": stmt.excluded.written_at},
            where=table.c.version < stmt.excluded.version,
        )
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def own_writes(self, system: str, record_ids: Iterable[str]) -> dict[str, datetime]:
        c = schema.own_writes.c
        found: dict[str, datetime] = {}
        async with self.engine.connect() as conn:
            for chunk in _chunks(dict.fromkeys(record_ids)):
                query = sa.select(c.record_id, c.version).where(
                    c.system == system, c.record_id.in_(chunk)
                )
                found.update((k, v) for k, v in await conn.execute(query))
        return found

    async def close(self) -> None:
        await self.engine.dispose()


async def open_control_store(
    url: str, *, clock: Clock = utc_now, pool_size: int | None = None
) -> SqlControlStore:
    """Connect to `CONTROL_DATABASE_URL`, migrate to head, and return the store.

    `pool_size`: PostgreSQL connections kept open (at least the caller's concurrency).
    """
    engine = create_control_engine(url, pool_size=pool_size)
    try:
        await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    return SqlControlStore(engine, clock=clock)
