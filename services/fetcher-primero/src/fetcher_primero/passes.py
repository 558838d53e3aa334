"""The fetch pass as a list of queries: each flow's query module is one entry.

Every entry has `run() -> published` and `close()`. A failing query is logged and the others
still run; the pass then fails (so the schedule logs it and retries at the next tick), and
cursors only moved for what was confirmed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class FetchQuery(Protocol):
    """One flow's source query (or queries) with its own cursors."""

    async def run(self) -> int:
        """One pass; returns the raw records published."""

    async def close(self) -> None:
        """Release what it opened."""


def run_all(queries: Sequence[tuple[str, FetchQuery]]) -> Callable[[], Awaitable[int]]:
    """One fetch pass over every `(flow, query)`, in order."""

    async def fetch_pass() -> int:
        published = 0
        failure: Exception | None = None
        for flow, query in queries:
            try:
                published += await query.run()
            except Exception as exc:
                log.error("fetch_query_failed", flow=flow, error_class=type(exc).__name__)
                failure = failure or exc
        if failure is not None:
            raise failure
        return published

    return fetch_pass


def close_all(queries: Sequence[tuple[str, FetchQuery]]) -> Callable[[], Awaitable[None]]:
    """Close every query (each closes its own client and store)."""

    async def close() -> None:
        for _, query in queries:
            await query.close()

    return close
