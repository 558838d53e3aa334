"""Bring an ONA database to the head revision (`python -m loader.ona.migrate [URL]`).

For a fresh development database (`ONA_DATABASE_URL`); the loader runs it at start-up when
`ONA_MIGRATE` is true. Several loaders starting at once are serialised by an advisory lock. The
version table is ONA-specific, so the schema can share a database with other histories.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

VERSION_TABLE = "ona_alembic_version"
#: Key of `pg_advisory_xact_lock` held while migrating ("cb_ona").
MIGRATION_LOCK_KEY = 0x63625F6F6E61
_SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An in-memory Alembic config pointing at the packaged ONA migrations."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The revision the packaged migrations end at."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection) -> None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    if context.get_current_revision() != head_revision():
        command.upgrade(alembic_config(connection), "head")


def sqlalchemy_url(url: str) -> sa.URL:
    """`postgresql://…` as the psycopg 3 async SQLAlchemy URL, `sqlite:///…` as aiosqlite."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed.set(drivername="postgresql+psycopg")


async def migrate_ona(url: str) -> None:
    """Upgrade the ONA database at `url` to head in one transaction (no-op when there).

    A SQLite file (the local mode) has one loader writing it, so it takes no lock; its folder
    is created if missing.
    """
    target = sqlalchemy_url(url)
    sqlite = target.get_backend_name() == "sqlite"
    if sqlite and target.database and target.database != ":memory:":
        Path(target.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(target)
    try:
        async with engine.begin() as conn:
            if not sqlite:
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()


def main(argv: list[str]) -> int:
    """Migrate the URL given, else `ONA_DATABASE_URL`."""
    url = argv[1] if len(argv) > 1 else os.environ.get("ONA_DATABASE_URL", "")
    if not url:
        print(
            "usage: python -m loader.ona.migrate [URL] (or set ONA_DATABASE_URL)", file=sys.stderr
        )
        return 2
    asyncio.run(migrate_ona(url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
