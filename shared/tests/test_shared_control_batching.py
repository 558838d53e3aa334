"""Group commit over the SQL control store, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from casebridge.control import BreakerRecord, LineageEntry, open_control_store, schema
from casebridge.control.batching import BatchingControlStore
from casebridge.control.sql import SqlControlStore
from casebridge.ids import new_id

T0 = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
STAGE = "loader-oscar"
TARGET = "oscar"


@pytest.fixture(scope="module")
def pg_url(database_url: str) -> Iterator[str]:
    """A uniquely named PostgreSQL database for this module, dropped after."""
    admin = make_url(database_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    name = f"cb_batching_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield admin.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def control_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'control.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def inner(control_url: str) -> AsyncIterator[SqlControlStore]:
    opened = await open_control_store(control_url, pool_size=8)
    async with opened.engine.begin() as conn:
        for table in schema.metadata.sorted_tables:
            await conn.execute(sa.delete(table))
    yield opened
    await opened.close()


@pytest.fixture
def store(inner: SqlControlStore) -> BatchingControlStore:
    # Closing it would close `inner`, which the fixture above does.
    return BatchingControlStore(inner, window_s=0.005)


class Commits:
    """Counts committed transactions of an engine."""

    def __init__(self, store: SqlControlStore) -> None:
        self.count = 0
        event.listen(store.engine.sync_engine, "commit", self._on_commit)

    def _on_commit(self, _conn: Any) -> None:
        self.count += 1


def _lineage(source_id: str, **kw: Any) -> LineageEntry:
    fields: dict[str, Any] = {
        "source_system": "primero",
        "source_type": "case",
        "source_id": source_id,
        "target": TARGET,
        "operation": "update_links",
        "target_key": f"oscar:{source_id}",
        "command_id": new_id(),
        "correlation_id": "corr-1",
        "outcome": "loaded",
        "at": T0,
        "target_id": None,
    }
    fields.update(kw)
    return LineageEntry(**fields)


async def test_batched_reads_answer_as_the_store_does(
    inner: SqlControlStore, store: BatchingControlStore
) -> None:
    await inner.remember(STAGE, [f"m{i}" for i in range(0, 40, 2)])
    await inner.remember("loader-primero", ["m1", "m3"])
    for i in range(0, 40, 3):
        await inner.set_applied_version(TARGET, f"k{i}", T0 + timedelta(minutes=i))

    seen_calls = [store.seen(STAGE, [f"m{i}", f"m{i + 1}", "m1"]) for i in range(40)]
    seen_calls.append(store.seen("loader-primero", ["m1", "m2", "m3"]))
    version_calls = [store.applied_version(TARGET, f"k{i}") for i in range(40)]
    batched = await asyncio.gather(*seen_calls, *version_calls)

    expected = [await inner.seen(STAGE, [f"m{i}", f"m{i + 1}", "m1"]) for i in range(40)]
    expected.append(await inner.seen("loader-primero", ["m1", "m2", "m3"]))
    versions = [await inner.applied_version(TARGET, f"k{i}") for i in range(40)]
    assert batched == [*expected, *versions]
    assert batched[40] == {"m1", "m3"}
    assert sum(v is not None for v in versions) == 14
    assert store.reads.flushes == 1  # 81 concurrent reads, one connection
    assert await store.seen(STAGE, []) == set()


async def test_a_write_is_committed_when_its_await_returns(
    inner: SqlControlStore, store: BatchingControlStore
) -> None:
    await store.remember(STAGE, ["m1", "key:abc"])
    await store.set_applied_version(TARGET, "k1", T0)
    await store.record_lineage([_lineage("c1")])
    # The unbatched store reads on its own connections: the rows are committed.
    assert await inner.seen(STAGE, ["m1", "key:abc", "m2"]) == {"m1", "key:abc"}
    assert await inner.applied_version(TARGET, "k1") == T0
    assert [e.source_id for e in await inner.lineage_of("primero", "c1")] == ["c1"]
    assert await store.seen(STAGE, ["m1"]) == {"m1"}
    assert await store.applied_version(TARGET, "k1") == T0


async def test_a_failed_flush_reaches_every_waiter_and_commits_nothing(
    inner: SqlControlStore, store: BatchingControlStore
) -> None:
    broken = _lineage("c2", source_system=None)  # NOT NULL: the whole transaction fails
    results = await asyncio.gather(
        store.remember(STAGE, ["m1"]),
        store.set_applied_version(TARGET, "k1", T0),
        store.record_lineage([_lineage("c1")]),
        store.record_lineage([broken]),
        return_exceptions=True,
    )
    assert all(isinstance(r, sa.exc.IntegrityError) for r in results), results
    assert store.writes.flushes == 1
    assert await inner.seen(STAGE, ["m1"]) == set()
    assert await inner.applied_version(TARGET, "k1") is None
    assert await inner.lineage_of("primero", "c1") == []
    # The next batch goes through.
    await store.remember(STAGE, ["m1"])
    assert await inner.seen(STAGE, ["m1"]) == {"m1"}


async def test_a_failed_read_reaches_every_waiter(
    store: BatchingControlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*_args: Any) -> Any:
        raise ConnectionError("control store down")

    monkeypatch.setattr(store.inner, "read_batch", fail)
    results = await asyncio.gather(
        store.seen(STAGE, ["m1"]), store.applied_version(TARGET, "k1"), return_exceptions=True
    )
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]


async def test_versions_never_move_backwards_within_one_batch(
    inner: SqlControlStore, store: BatchingControlStore
) -> None:
    await inner.set_applied_version(TARGET, "old", T0 + timedelta(hours=1))
    await asyncio.gather(
        store.set_applied_version(TARGET, "k1", T0 + timedelta(minutes=2)),
        store.set_applied_version(TARGET, "k1", T0 + timedelta(minutes=5)),
        store.set_applied_version(TARGET, "k1", T0 + timedelta(minutes=1)),
        store.set_applied_version(TARGET, "old", T0),
        store.set_applied_version(TARGET, "old", T0 + timedelta(minutes=30)),
    )
    assert store.writes.flushes == 1
    assert await inner.applied_version(TARGET, "k1") == T0 + timedelta(minutes=5)
    assert await inner.applied_version(TARGET, "old") == T0 + timedelta(hours=1)


async def test_hundred_concurrent_commands_take_few_transactions(
    inner: SqlControlStore, store: BatchingControlStore
) -> None:
    commits = Commits(inner)

    async def command(i: int) -> None:
        ids, key = [f"m{i}"], f"k{i % 10}"
        seen, applied = await asyncio.gather(
            store.seen(STAGE, ids), store.applied_version(TARGET, key)
        )
        assert seen == set()
        assert applied is None
        await asyncio.gather(
            store.remember(STAGE, ids),
            store.set_applied_version(TARGET, key, T0 + timedelta(seconds=i)),
            store.record_lineage([_lineage(f"c{i}")]),
        )

    await asyncio.gather(*(command(i) for i in range(100)))

    assert store.reads.flushes == 1
    assert store.writes.flushes == 1
    assert commits.count <= 2  # one write transaction (SQLite may commit its read too)
    assert len(await inner.seen(STAGE, [f"m{i}" for i in range(100)])) == 100
    assert await inner.applied_version(TARGET, "k3") == T0 + timedelta(seconds=93)
    assert len(await store.lineage_of("primero", "c42")) == 1


async def test_full_batches_flush_without_waiting_for_the_window(inner: SqlControlStore) -> None:
    store = BatchingControlStore(inner, window_s=10, max_batch=10)
    await asyncio.gather(*(store.remember(STAGE, [f"m{i}"]) for i in range(30)))
    assert store.writes.flushes == 3  # full batches do not wait for the (long) window
    assert len(await inner.seen(STAGE, [f"m{i}" for i in range(30)])) == 30


async def test_breaker_rows_pass_through_to_the_store(
    store: BatchingControlStore, inner: SqlControlStore
) -> None:
    row = BreakerRecord("oscar", "pod-a:1", "open", datetime(2026, 11, 1, tzinfo=UTC), 5, "X")
    await store.record_breaker(row)
    assert await inner.list_breakers() == [row]
    assert await store.list_breakers() == [row]
    await store.forget_breaker("oscar", "pod-a:1")
    assert await inner.list_breakers() == []
