"""Group commit for the control store: many concurrent callers, one query or transaction.

A loader applies `CONCURRENCY` commands at once and each needs a few small control-store reads
and writes. Issued one by one they cost a connection checkout and a round trip (a transaction
for writes) each. `BatchingControlStore` collects the calls made within a short window (or until
`max_batch` calls wait) and answers them together:

- reads (`seen`, `applied_version`): one connection, one query per stage and per target;
- writes (`remember`, `set_applied_version`, `record_lineage`): ONE transaction. A caller's
  await returns only after the transaction holding its writes committed (durability before the
  ack); a failed flush raises the error to every caller whose writes it held.

Several versions for one (target, key) in one batch keep the newest, and the store still
refuses to move a version backwards. At most one read flush and one write flush run at a time:
calls made during a flush form the next batch, so batches grow with the load. Other methods
pass through to the wrapped store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

from casebridge.control.model import AuditEntry, BreakerRecord, Cursor, LineageEntry, Problem
from casebridge.control.store import ControlStore

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

#: Default collection window: long enough for concurrent commands to join, short beside a write.
WINDOW_S = 0.002
#: Default calls per batch (each carries one or two keys: far below the store's chunk size).
MAX_BATCH = 500


class BatchableStore(ControlStore, Protocol):
    """A control store with the bulk calls `BatchingControlStore` flushes to."""

    async def read_batch(
        self, seen: Mapping[str, Collection[str]], versions: Mapping[str, Collection[str]]
    ) -> tuple[dict[str, set[str]], dict[str, dict[str, datetime]]]:
        """`seen` per stage and applied versions per target, together."""

    async def write_batch(
        self,
        processed: Mapping[str, Collection[str]],
        versions: Mapping[tuple[str, str], datetime],
        lineage: Sequence[LineageEntry],
    ) -> None:
        """Processed ids, applied versions (one per key) and lineage rows in one transaction."""


class _Batcher(Generic[_Item, _Result]):
    """Queues items; one flush at a time hands each waiter its own result (or the error)."""

    def __init__(
        self,
        flush: Callable[[list[_Item]], Awaitable[list[_Result]]],
        window_s: float,
        max_batch: int,
    ) -> None:
        self._flush = flush
        self._window_s = window_s
        self._max_batch = max_batch
        self._pending: list[tuple[_Item, asyncio.Future[_Result]]] = []
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Flushes run so far (what the tests count).
        self.flushes = 0

    async def submit(self, item: _Item) -> _Result:
        future: asyncio.Future[_Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self._max_batch:
            self._full.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._pending:
            if len(self._pending) < self._max_batch:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._window_s):
                        await self._full.wait()
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            if len(self._pending) < self._max_batch:
                self._full.clear()
            self.flushes += 1
            try:
                results = await self._flush([item for item, _ in batch])
            except Exception as exc:  # every waiter learns of it, then the loop goes on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:  # cancelled (shutdown): the waiters are cancelled too
                for _, future in self._pending_and(batch):
                    future.cancel()
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    def _pending_and(
        self, batch: list[tuple[_Item, asyncio.Future[_Result]]]
    ) -> list[tuple[_Item, asyncio.Future[_Result]]]:
        waiting, self._pending = [*batch, *self._pending], []
        return waiting

    async def drain(self) -> None:
        """Wait until everything queued so far was flushed."""
        while self._task is not None and not self._task.done():
            await asyncio.wait([self._task])


@dataclass(frozen=True)
class _Seen:
    stage: str
    ids: tuple[str, ...]


@dataclass(frozen=True)
class _Version:
    target: str
    key: str


_Read = _Seen | _Version


@dataclass
class _Writes:
    processed: dict[str, set[str]] = field(default_factory=dict)
    versions: dict[tuple[str, str], datetime] = field(default_factory=dict)
    lineage: list[LineageEntry] = field(default_factory=list)


@dataclass(frozen=True)
class _Remember:
    stage: str
    ids: tuple[str, ...]


@dataclass(frozen=True)
class _SetVersion:
    target: str
    key: str
    version: datetime


@dataclass(frozen=True)
class _Lineage:
    entries: tuple[LineageEntry, ...]


_Write = _Remember | _SetVersion | _Lineage


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class BatchingControlStore(ControlStore):
    """Group commit over `inner` for the per-command calls; everything else passes through."""

    def __init__(
        self, inner: BatchableStore, *, window_s: float = WINDOW_S, max_batch: int = MAX_BATCH
    ) -> None:
        self.inner = inner
        self.reads: _Batcher[_Read, set[str] | datetime | None] = _Batcher(
            self._flush_reads, window_s, max_batch
        )
        self.writes: _Batcher[_Write, None] = _Batcher(self._flush_writes, window_s, max_batch)

    # batched

    async def seen(self, stage: str, message_ids: Iterable[str]) -> set[str]:
        ids = tuple(dict.fromkeys(message_ids))
        if not ids:
            return set()
        found = await self.reads.submit(_Seen(stage, ids))
        assert isinstance(found, set)
        return found

    async def applied_version(self, target: str, key: str) -> datetime | None:
        version = await self.reads.submit(_Version(target, key))
        assert not isinstance(version, set)
        return version

    async def remember(self, stage: str, message_ids: Iterable[str]) -> None:
        ids = tuple(message_ids)
        if ids:
            await self.writes.submit(_Remember(stage, ids))

    async def set_applied_version(self, target: str, key: str, version: datetime) -> None:
        await self.writes.submit(_SetVersion(target, key, version))

    async def record_lineage(self, entries: Iterable[LineageEntry]) -> None:
        rows = tuple(entries)
        if rows:
            await self.writes.submit(_Lineage(rows))

    async def _flush_reads(self, items: list[_Read]) -> list[set[str] | datetime | None]:
        seen: dict[str, set[str]] = {}
        keys: dict[str, set[str]] = {}
        for item in items:
            if isinstance(item, _Seen):
                seen.setdefault(item.stage, set()).update(item.ids)
            else:
                keys.setdefault(item.target, set()).add(item.key)
        found, applied = await self.inner.read_batch(seen, keys)
        results: list[set[str] | datetime | None] = []
        for item in items:
            if isinstance(item, _Seen):
                results.append(found[item.stage].intersection(item.ids))
            else:
                results.append(applied[item.target].get(item.key))
        return results

    async def _flush_writes(self, items: list[_Write]) -> list[None]:
        writes = _Writes()
        for item in items:
            if isinstance(item, _Remember):
                writes.processed.setdefault(item.stage, set()).update(item.ids)
            elif isinstance(item, _SetVersion):
                # Never backwards within the batch either: the newest version of a key wins.
                slot = (item.target, item.key)
                held = writes.versions.get(slot)
                if held is None or _utc(item.version) > _utc(held):
                    writes.versions[slot] = item.version
            else:
                writes.lineage.extend(item.entries)
        await self.inner.write_batch(writes.processed, writes.versions, writes.lineage)
        return [None] * len(items)

    # passed through

    async def forget(self, stage: str, message_ids: Iterable[str]) -> None:
        await self.writes.drain()  # a pending `remember` of these ids must not land after it
        await self.inner.forget(stage, message_ids)

    async def get_cursor(self, name: str) -> Cursor | None:
        return await self.inner.get_cursor(name)

    async def set_cursor(self, name: str, value: str) -> None:
        await self.inner.set_cursor(name, value)

    async def delete_cursor(self, name: str) -> None:
        await self.inner.delete_cursor(name)

    async def list_cursors(self) -> list[Cursor]:
        return await self.inner.list_cursors()

    async def lineage_of(self, source_system: str, source_id: str) -> list[LineageEntry]:
        await self.writes.drain()  # read your own writes
        return await self.inner.lineage_of(source_system, source_id)

    async def audit(self, entry: AuditEntry) -> None:
        await self.inner.audit(entry)

    async def audit_log(self, since: datetime | None = None) -> list[AuditEntry]:
        return await self.inner.audit_log(since)

    async def record_breaker(self, record: BreakerRecord) -> None:
        await self.inner.record_breaker(record)

    async def forget_breaker(self, target: str, instance: str) -> None:
        await self.inner.forget_breaker(target, instance)

    async def list_breakers(self) -> list[BreakerRecord]:
        return await self.inner.list_breakers()

    async def report_problem(self, source: str, reason: str) -> bool:
        return await self.inner.report_problem(source, reason)

    async def clear_problem(self, source: str) -> None:
        await self.inner.clear_problem(source)

    async def list_problems(self) -> list[Problem]:
        return await self.inner.list_problems()

    async def record_own_write(self, system: str, record_id: str, version: datetime) -> None:
        await self.inner.record_own_write(system, record_id, version)

    async def own_writes(self, system: str, record_ids: Iterable[str]) -> dict[str, datetime]:
        return await self.inner.own_writes(system, record_ids)

    async def close(self) -> None:
        """Flush what is queued, then close the wrapped store."""
        await self.reads.drain()
        await self.writes.drain()
        await self.inner.close()
