"""Bring a control database to the head revision, programmatically and idempotently.

Several services may start at once against one database. On PostgreSQL a transaction-level
advisory lock makes the first migrate and the others find the schema already at head; on SQLite
`BEGIN IMMEDIATE` does the same. Within one process a lock per event loop also serialises
callers, because Alembic's `context` is a module-global proxy that concurrent runs would share.
"""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from casebridge.control.engine import SQLITE_BEGIN

#: Own version table, so the control schema can share a database with other Alembic histories.
VERSION_TABLE = "control_alembic_version"
#: Key of `pg_advisory_xact_lock` held while migrating (any constant unique to casebridge).
MIGRATION_LOCK_KEY = 0x63625F636F6E74  # "cb_cont"
_SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def alembic_config(connection: Connection | None = None) -> Config:
    """An in-memory Alembic config (no alembic.ini) pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The revision the packaged migrations end at."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision a database is at (None before the first migration)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _upgrade(connection: Connection) -> None:
    if current_revision(connection) != head_revision():
        command.upgrade(alembic_config(connection), "head")


def _process_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _LOCKS.get(loop)
    if lock is None:
        lock = _LOCKS[loop] = asyncio.Lock()
    return lock


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade to head in one transaction; a no-op when already there."""
    async with _process_lock(), engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        async with conn.begin():
            if conn.dialect.name == "postgresql":
                # Released at commit; PostgreSQL DDL is transactional, so waiters see the result.
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            await conn.run_sync(_upgrade)
