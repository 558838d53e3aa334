"""A control-store outage is the deployment's trouble, never the message's.

Every control-store call goes through `translating_outages`: a lost or refused database
connection (PostgreSQL restarting, a failover, a pool that cannot check out in time) becomes
`ControlStoreUnavailable`, a `TargetUnavailable`. The consumer wrapper then parks the message
without counting an attempt and pauses consuming, instead of dead-lettering it as a bug; a
fetcher's pass fails and is retried soon, resuming at its durable cursor.

What is NOT an outage stays as it is: a constraint violation, a missing table (a migration not
run), a bad statement. SQLite reports a missing table as `OperationalError` too, so for SQLite
only a busy or locked database counts.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import exc as sa_exc

from casebridge.errors import TargetUnavailable

#: Seconds a consumer pauses before it tries the control store again.
RETRY_AFTER_S = 2.0
_SQLITE_TRANSIENT = ("database is locked", "database is busy", "unable to open database")


class ControlStoreUnavailable(TargetUnavailable):
    """The control database cannot be reached now; retry later without counting an attempt."""

    def __init__(self, message: str, *, retry_after: float | None = RETRY_AFTER_S) -> None:
        super().__init__(message, retry_after=retry_after)


def is_outage(error: BaseException) -> bool:
    """Whether `error` says the database could not be reached (rather than refused the work)."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection in time
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
            module = type(error.orig).__module__ if error.orig is not None else ""
            if module.startswith("sqlite3"):
                return any(text in str(error.orig).lower() for text in _SQLITE_TRANSIENT)
            return True
        return False
    return isinstance(error, ConnectionError | TimeoutError)


def describe(error: BaseException) -> str:
    """The outage in words an operator can act on, without the statement or its parameters."""
    cause = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"the control store is unreachable ({type(cause).__name__}: {first_line[:200]})"


@contextlib.asynccontextmanager
async def translating_outages() -> AsyncIterator[None]:
    """Raise `ControlStoreUnavailable` for an outage met inside the block."""
    try:
        yield
    except ControlStoreUnavailable:
        raise
    except Exception as error:
        if is_outage(error):
            raise ControlStoreUnavailable(describe(error)) from error
        raise
