"""Alembic environment of the ONA schema: runs only on a connection handed in by
`loader.ona.migrate` (no alembic.ini, no URL here)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from loader.ona.migrate import VERSION_TABLE

_connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(_connection, Connection):
    raise RuntimeError("ONA migrations run online, via loader.ona.migrate")
context.configure(connection=_connection, target_metadata=None, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
