"""A control-store outage is transient: `ControlStoreUnavailable`, never a bug or a dead letter."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import exc as sa_exc

from casebridge.control import ControlStoreUnavailable, open_control_store
from casebridge.control.outage import is_outage
from casebridge.errors import TargetUnavailable
from casebridge.testing.private_postgres import PrivatePostgres


def _wrapped(cls: type[sa_exc.DBAPIError], orig: Exception) -> sa_exc.DBAPIError:
    return cls("SELECT 1", {}, orig)


def test_connection_failures_are_outages_and_refusals_are_not() -> None:
    refused = psycopg.OperationalError("connection failed: Connection refused")
    assert is_outage(_wrapped(sa_exc.OperationalError, refused))
    assert is_outage(sa_exc.TimeoutError("QueuePool limit reached"))
    assert is_outage(ConnectionResetError())
    unique = psycopg.errors.UniqueViolation("duplicate key")
    assert not is_outage(_wrapped(sa_exc.IntegrityError, unique))
    missing = psycopg.errors.UndefinedTable("relation does not exist")
    assert not is_outage(_wrapped(sa_exc.ProgrammingError, missing))
    # SQLite says OperationalError for a missing table too: only busy/locked is an outage.
    assert not is_outage(
        _wrapped(sa_exc.OperationalError, sqlite3.OperationalError("no such table: cursors"))
    )
    assert is_outage(
        _wrapped(sa_exc.OperationalError, sqlite3.OperationalError("database is locked"))
    )
    assert issubclass(ControlStoreUnavailable, TargetUnavailable)


async def test_a_sqlite_schema_error_is_not_reported_as_an_outage(tmp_path: Path) -> None:
    store = await open_control_store(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        async with store._begin() as conn:
            await conn.exec_driver_sql("DROP TABLE cursors")
        with pytest.raises(sa_exc.OperationalError):
            await store.get_cursor("x")
    finally:
        await store.close()


@pytest.mark.integration
async def test_every_call_during_a_restart_raises_unavailable_then_works_again(
    own_postgres: PrivatePostgres,
) -> None:
    store = await open_control_store(own_postgres.create_database("control"))
    try:
        await store.set_cursor("c", "1")
        await store.remember("s", ["a"])
        own_postgres.stop()
        with pytest.raises(ControlStoreUnavailable, match="unreachable"):
            await store.get_cursor("c")
        with pytest.raises(ControlStoreUnavailable):
            await store.remember("s", ["b"])
        with pytest.raises(ControlStoreUnavailable):
            await store.seen("s", ["a"])
        own_postgres.start()
        # The pool's dead connections are dropped (pre-ping); nothing needs a restart.
        assert (await store.get_cursor("c")) is not None
        await store.remember("s", ["b"])
        assert await store.seen("s", ["a", "b"]) == {"a", "b"}
    finally:
        await store.close()
