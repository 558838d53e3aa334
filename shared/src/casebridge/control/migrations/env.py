"""Alembic environment: runs only on a connection handed in by `casebridge.control.migrate`.

There is no alembic.ini and no URL here: the caller owns the engine, the transaction and (on
PostgreSQL) the advisory lock that serialises services starting at once.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from casebridge.control.migrate import VERSION_TABLE


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(_connection, Connection):
    raise RuntimeError("control-store migrations run online, via casebridge.control.migrate")
_run(_connection)
