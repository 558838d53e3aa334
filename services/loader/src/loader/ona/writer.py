"""What the `ona` target needs from a database: one transaction per batch of rows.

The target owns batching, de-duplication, bisection and outcomes; a writer only turns a batch
into one committed upsert and reports failures as one of the three kinds below, so the same
target logic serves PostgreSQL (production, `loader.ona.postgres`) and SQLite (the one-command
local mode, `loader.ona.sqlite`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from loader.ona.rows import OnaRows


class RowRefused(Exception):
    """The database refused the data of this batch (not the connection): bisect it."""


class DatabaseUnavailable(Exception):
    """The connection is gone or cannot be made: nothing was committed, retry later."""


class WriteFailed(Exception):
    """Any other database error: nothing was committed, retry the batch."""


class OnaWriter(Protocol):
    """One database connection writing batches of ONA rows."""

    async def connect(self) -> None:
        """Open the connection (idempotent)."""

    async def upsert(self, batch: Sequence[OnaRows]) -> set[str]:
        """Upsert cases and services in one transaction; the case ids actually written."""

    async def close(self) -> None:
        """Close the connection (idempotent)."""


def is_sqlite(url: str) -> bool:
    """Whether `ONA_DATABASE_URL` names a SQLite file (`sqlite:///…`, `sqlite+aiosqlite:///…`)."""
    return url.split(":", 1)[0].split("+", 1)[0] == "sqlite"
