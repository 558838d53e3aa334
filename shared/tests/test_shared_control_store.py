"""The SQL control store, every behaviour on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from casebridge.control import (
    AuditEntry,
    BreakerRecord,
    ControlStoreSettings,
    LineageEntry,
    open_control_store,
    schema,
)
from casebridge.control.engine import async_url
from casebridge.control.migrate import VERSION_TABLE, current_revision, head_revision
from casebridge.control.sql import SqlControlStore
from casebridge.ids import new_id

T0 = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
TABLES = {
    "cursors",
    "processed",
    "applied_versions",
    "lineage",
    "audit",
    "breakers",
    "problems",
    "own_writes",
    VERSION_TABLE,
}

DatabaseFactory = Callable[[], str]


@pytest.fixture(scope="module")
def pg_databases(database_url: str) -> Iterator[DatabaseFactory]:
    """Makes uniquely named PostgreSQL databases for this module; drops them all after."""
    admin = make_url(database_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    created: list[str] = []

    def create() -> str:
        name = f"cb_control_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return admin.set(database=name).render_as_string(hide_password=False)

    yield create
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def pg_url(pg_databases: DatabaseFactory) -> str:
    """The module's shared PostgreSQL database (tests empty its tables before use)."""
    return pg_databases()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def control_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A control database URL: a fresh SQLite file, or the module's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'control' / 'control.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


class Clock:
    """A settable clock, so prune and timestamps are testable without sleeping."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(control_url: str, clock: Clock) -> AsyncIterator[SqlControlStore]:
    opened = await open_control_store(control_url, clock=clock)
    async with opened.engine.begin() as conn:
        for table in schema.metadata.sorted_tables:
            await conn.execute(sa.delete(table))
    yield opened
    await opened.close()


async def _tables(store: SqlControlStore) -> set[str]:
    async with store.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def _revision(store: SqlControlStore) -> str | None:
    async with store.engine.connect() as conn:
        return await conn.run_sync(current_revision)


def _lineage(source_id: str, at: datetime, outcome: str = "loaded", **kw: str) -> LineageEntry:
    return LineageEntry(
        source_system=kw.get("source_system", "primero"),
        source_type="case",
        source_id=source_id,
        target="oscar",
        operation="case_upsert",
        target_key=f"oscar:{source_id}",
        command_id=kw.get("command_id", new_id()),
        correlation_id="corr-1",
        outcome=outcome,
        at=at,
        target_id=kw.get("target_id"),
    )


# migrations


async def test_migrating_twice_is_idempotent(control_url: str) -> None:
    first = await open_control_store(control_url)
    await first.set_cursor("primero:c1-cases", "v1")
    await first.close()
    second = await open_control_store(control_url)
    try:
        assert head_revision() is not None
        assert await _revision(second) == head_revision()
        assert await _tables(second) >= TABLES
        cursor = await second.get_cursor("primero:c1-cases")
        assert cursor is not None
        assert cursor.value == "v1"
    finally:
        await second.close()


def _open_in_own_loop(url: str) -> str | None:
    """A service starting in another process, as far as locks go: its own thread and loop."""

    async def run() -> str | None:
        store = await open_control_store(url)
        try:
            return await _revision(store)
        finally:
            await store.close()

    return asyncio.run(run())


@pytest.mark.integration
async def test_services_starting_at_once_on_postgresql_migrate_once(
    pg_databases: DatabaseFactory,
) -> None:
    url = pg_databases()  # empty: every service races to create the schema
    in_threads = [asyncio.to_thread(_open_in_own_loop, url) for _ in range(3)]
    in_loop = [open_control_store(url) for _ in range(2)]
    *revisions, first, second = await asyncio.gather(*in_threads, *in_loop)
    try:
        assert revisions == [head_revision()] * 3
        for store in (first, second):
            assert await _revision(store) == head_revision()
        async with first.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(sa.table(VERSION_TABLE))
            assert await conn.scalar(query) == 1
    finally:
        await first.close()
        await second.close()


async def test_tasks_opening_one_sqlite_file_at_once_migrate_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'control.db'}"
    stores = await asyncio.gather(*(open_control_store(url) for _ in range(4)))
    try:
        for store in stores:
            assert await _revision(store) == head_revision()
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_sqlite_url_creates_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "control.db"
    store = await open_control_store(f"sqlite:///{path}")  # a sync URL gets the async driver
    await store.close()
    assert path.exists()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite"),
    ],
)
def test_urls_get_the_async_driver(url: str, driver: str) -> None:
    assert async_url(url).drivername == driver


def test_settings_read_the_url_as_a_secret_and_from_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert ControlStoreSettings().control_database_url.get_secret_value().startswith("sqlite+")
    secret = tmp_path / "url"
    secret.write_text("postgresql://cb:pw@db/control\n")
    monkeypatch.setenv("CONTROL_DATABASE_URL", "postgresql://ignored")
    monkeypatch.setenv("CONTROL_DATABASE_URL_FILE", str(secret))
    settings = ControlStoreSettings()
    assert settings.control_database_url.get_secret_value() == "postgresql://cb:pw@db/control"
    assert "pw" not in repr(settings)


# cursors


async def test_cursor_get_set_delete_list(store: SqlControlStore, clock: Clock) -> None:
    assert await store.get_cursor("primero:c1-cases") is None
    await store.set_cursor("primero:c1-cases", "2026-11-01T08:30:00.000Z")
    clock.now = T0 + timedelta(minutes=5)
    await store.set_cursor("primero:c1-cases", "2026-11-01T08:35:00.000Z")
    await store.set_cursor("oscar:clients", "42")

    cursor = await store.get_cursor("primero:c1-cases")
    assert cursor is not None
    assert (cursor.value, cursor.updated_at) == ("2026-11-01T08:35:00.000Z", clock.now)
    assert [c.name for c in await store.list_cursors()] == ["oscar:clients", "primero:c1-cases"]

    await store.delete_cursor("primero:c1-cases")
    await store.delete_cursor("never-set")
    assert await store.get_cursor("primero:c1-cases") is None
    assert [c.name for c in await store.list_cursors()] == ["oscar:clients"]


# processed message ids


async def test_seen_and_remember_are_batched_and_idempotent(store: SqlControlStore) -> None:
    ids = [f"m{i}" for i in range(2500)]  # more than one batch of 1000
    assert await store.seen("transformer", ids) == set()
    await store.remember("transformer", ids[:1500])
    await store.remember("transformer", ids[1000:1500] + ids[:10] + ["m0"])  # again: no error
    assert await store.seen("transformer", ids) == set(ids[:1500])
    assert await store.seen("loader:oscar", ids) == set(), "stages are independent"
    assert await store.seen("transformer", iter(["m1", "m1", "zzz"])) == {"m1"}
    await store.remember("transformer", [])
    assert await store.seen("transformer", []) == set()


async def test_forget_drops_only_the_named_ids_of_one_stage(store: SqlControlStore) -> None:
    await store.remember("loader-oscar", ["intent:a", "intent:b", "m1"])
    await store.remember("loader-dtp", ["intent:a"])
    await store.forget("loader-oscar", ["intent:a", "never-there"])
    assert await store.seen("loader-oscar", ["intent:a", "intent:b", "m1"]) == {"intent:b", "m1"}
    assert await store.seen("loader-dtp", ["intent:a"]) == {"intent:a"}


async def test_prune_forgets_only_old_ids(store: SqlControlStore, clock: Clock) -> None:
    clock.now = T0 - timedelta(days=10)
    await store.remember("transformer", ["old1", "old2"])
    clock.now = T0 - timedelta(days=1)
    await store.remember("transformer", ["recent"])
    clock.now = T0
    assert await store.prune_processed(timedelta(days=7)) == 2
    assert await store.seen("transformer", ["old1", "old2", "recent"]) == {"recent"}
    assert await store.prune_processed(timedelta(days=7)) == 0


# applied versions


async def test_applied_version_never_moves_backwards(store: SqlControlStore) -> None:
    assert await store.applied_version("oscar", "case-1") is None
    await store.set_applied_version("oscar", "case-1", T0)
    await store.set_applied_version("oscar", "case-1", T0 - timedelta(microseconds=1))
    assert await store.applied_version("oscar", "case-1") == T0
    await store.set_applied_version("oscar", "case-1", T0)
    assert await store.applied_version("oscar", "case-1") == T0
    newer = T0 + timedelta(seconds=1, microseconds=5)
    await store.set_applied_version("oscar", "case-1", newer)
    assert await store.applied_version("oscar", "case-1") == newer
    assert await store.applied_version("dtp", "case-1") is None


# lineage


async def test_lineage_is_ordered_and_looked_up_by_source(store: SqlControlStore) -> None:
    later = _lineage("case-1", T0 + timedelta(minutes=1), "superseded")
    first = _lineage("case-1", T0, target_id="77")
    same_time = _lineage("case-1", T0 + timedelta(minutes=1), "dead_lettered")
    other_record = _lineage("case-2", T0)
    other_system = _lineage("case-1", T0, source_system="oscar")
    await store.record_lineage([later, first, other_record])
    await store.record_lineage(iter([same_time, other_system]))
    await store.record_lineage([])

    assert await store.lineage_of("primero", "case-1") == [first, later, same_time]
    assert await store.lineage_of("oscar", "case-1") == [other_system]
    assert await store.lineage_of("primero", "nope") == []


# audit


async def test_audit_log_since(store: SqlControlStore) -> None:
    entries = [
        AuditEntry("alice", "reset_cursor", T0, detail={"cursor": "primero:c1-cases"}),
        AuditEntry("bob", "replay_dlq", T0 + timedelta(hours=1), count=12, detail={"q": ["x"]}),
        AuditEntry("carol", "purge_dlq", T0 + timedelta(hours=2), count=3),
    ]
    for entry in reversed(entries):
        await store.audit(entry)
    assert await store.audit_log() == entries
    assert await store.audit_log(since=T0 + timedelta(hours=1)) == entries[1:]
    assert await store.audit_log(since=T0 + timedelta(days=1)) == []


# circuit breakers


async def test_breaker_rows_are_upserted_per_target_and_instance(store: SqlControlStore) -> None:
    opened = BreakerRecord("oscar", "pod-a:1", "open", T0, 5, "HttpStatusError")
    await store.record_breaker(opened)
    await store.record_breaker(BreakerRecord("primero", "pod-c:1", "closed", T0))
    await store.record_breaker(BreakerRecord("oscar", "pod-b:1", "half_open", T0, 2, None))
    assert await store.list_breakers() == [
        opened,
        BreakerRecord("oscar", "pod-b:1", "half_open", T0, 2, None),
        BreakerRecord("primero", "pod-c:1", "closed", T0),
    ]
    # A later change of the same process replaces its row.
    closed = BreakerRecord("oscar", "pod-a:1", "closed", T0 + timedelta(minutes=3))
    await store.record_breaker(closed)
    rows = await store.list_breakers()
    assert rows[0] == closed
    assert len(rows) == 3
    await store.forget_breaker("oscar", "pod-a:1")
    await store.forget_breaker("oscar", "no-such-instance")
    assert [(r.target, r.instance) for r in await store.list_breakers()] == [
        ("oscar", "pod-b:1"),
        ("primero", "pod-c:1"),
    ]


async def test_a_database_at_revision_0001_upgrades_to_the_breakers_table(
    control_url: str,
) -> None:
    """A deployment created before the breakers revision gains the table on the next start."""
    from alembic import command

    from casebridge.control.engine import create_control_engine
    from casebridge.control.migrate import alembic_config

    engine = create_control_engine(control_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0001"))
            tables = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            assert "breakers" not in tables
            assert await conn.run_sync(current_revision) == "0001"
    finally:
        await engine.dispose()
    store = await open_control_store(control_url)
    try:
        assert await _revision(store) == head_revision() == "0003"
        assert await _tables(store) >= TABLES
        await store.record_breaker(BreakerRecord("oscar", "x", "open", T0, 1, "ReadTimeout"))
        assert len(await store.list_breakers()) == 1
    finally:
        await store.close()


# configuration problems and own writes (revision 0003)


async def test_a_problem_is_new_once_counted_after_and_cleared(
    store: SqlControlStore, clock: Clock
) -> None:
    assert await store.report_problem("fetcher-primero:p3", "403 on /api/v2/users") is True
    clock.now = T0 + timedelta(minutes=5)
    assert await store.report_problem("fetcher-primero:p3", "403 on /api/v2/users") is False
    [problem] = await store.list_problems()
    assert (problem.count, problem.since, problem.last_at) == (2, T0, clock.now)
    # Another reason for the same source is news again.
    assert await store.report_problem("fetcher-primero:p3", "something else") is True
    assert [p.reason for p in await store.list_problems()] == ["something else"]
    await store.clear_problem("fetcher-primero:p3")
    assert await store.list_problems() == []


async def test_own_writes_keep_the_newest_version_per_record(store: SqlControlStore) -> None:
    later = T0 + timedelta(seconds=2, milliseconds=514)
    await store.record_own_write("primero", "case-1", later)
    await store.record_own_write("primero", "case-1", T0)  # an older one never wins
    await store.record_own_write("oscar", "case-1", T0)
    assert await store.own_writes("primero", ["case-1", "case-2"]) == {"case-1": later}
    assert await store.own_writes("oscar", ["case-1"]) == {"case-1": T0}


# time zones


async def test_timestamps_are_aware_utc_in_and_out(store: SqlControlStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 11, 1, 10, 30, tzinfo=plus_two)  # == T0
    await store.set_applied_version("oscar", "case-1", local)
    version = await store.applied_version("oscar", "case-1")
    assert version == T0
    assert version is not None
    assert version.tzinfo == UTC
    # An earlier instant written in a "later-looking" zone still loses.
    await store.set_applied_version("oscar", "case-1", datetime(2026, 11, 1, 9, 0, tzinfo=plus_two))
    assert await store.applied_version("oscar", "case-1") == T0

    await store.audit(AuditEntry("alice", "x", local))
    (entry,) = await store.audit_log(since=datetime(2026, 11, 1, 10, 30, tzinfo=plus_two))
    assert entry.at == T0
    assert entry.at.tzinfo == UTC

    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        await store.set_applied_version("oscar", "case-2", datetime(2026, 11, 1, 8, 30))
