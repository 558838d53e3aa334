"""The async engine of a control database URL: driver choice and per-dialect set-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

DEFAULT_CONTROL_DATABASE_URL = "sqlite+aiosqlite:///.casebridge/control.db"
#: Execution option naming how SQLite begins a transaction (`IMMEDIATE` takes the write lock).
SQLITE_BEGIN = "casebridge_sqlite_begin"

#: Sync or bare driver names rewritten to the async driver this package ships.
_ASYNC_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg2": "postgresql+psycopg",
    "postgresql+psycopg_async": "postgresql+psycopg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
}


def async_url(url: str | URL) -> URL:
    """`postgresql://…` → psycopg 3 async, `sqlite://…` → aiosqlite; async URLs unchanged."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def _sqlite_in_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url.query)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers (the CLI) run beside the writing service; wait instead of failing.

    The driver's own transaction handling skips BEGIN before DDL and SELECT, which would leave
    migrations non-atomic; SQLAlchemy emits BEGIN itself instead (`_on_sqlite_begin`).
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


#: PostgreSQL connections an engine keeps open unless the caller asks for more.
DEFAULT_POOL_SIZE = 10


def create_control_engine(url: str | URL, *, pool_size: int | None = None) -> AsyncEngine:
    """An async engine; creates the SQLite file's directory (the only I/O besides connecting).

    PostgreSQL: a fixed pool of `pool_size` connections and no overflow. Overflow connections
    are closed as soon as they are returned, so a busy service would open and close one per
    transaction; past the pool, callers wait for a connection instead.
    """
    target = async_url(url)
    if target.get_backend_name() != "sqlite":
        return create_async_engine(
            target,
            pool_pre_ping=True,
            pool_size=max(pool_size or DEFAULT_POOL_SIZE, 1),
            max_overflow=0,
            pool_timeout=60,
        )
    if _sqlite_in_memory(target):
        # One shared connection, or each checkout would see its own empty database.
        engine = create_async_engine(target, poolclass=StaticPool)
    else:
        assert target.database is not None
        Path(target.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target)
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine
