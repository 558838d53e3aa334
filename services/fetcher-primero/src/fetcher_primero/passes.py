"""The fetch pass as a list of queries: each flow's query module is one entry.

Every entry has `run() -> published` and `close()`. A failing query is logged and the others
still run; the pass then fails (so the schedule logs it and retries at the next tick), and
cursors only moved for what was confirmed.

A failure only an admin can fix (Primero answers 401/403, or ignored a filter because the API
user's role cannot read its field) is a configuration problem: it is kept in the control store
(`casebridge status` lists it, source `fetcher-primero:<flow>`), logged at error level the first
time only, and the pass fails with `ConfigurationProblem`; it is retried at the next tick, as
any failed pass, not in a loop. The flow's next successful query clears it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import structlog

from casebridge.clients import FilterIgnored, HttpStatusError
from casebridge.control import ControlStore
from casebridge.errors import ConfigurationProblem
from casebridge.fetch_metrics import FetchMetrics

log = structlog.get_logger(__name__)

STAGE = "fetcher-primero"
#: Statuses that mean the API user lacks a right, never a passing condition.
CONFIGURATION_STATUSES = frozenset({401, 403})


class FetchQuery(Protocol):
    """One flow's source query (or queries) with its own cursors."""

    async def run(self) -> int:
        """One pass; returns the raw records published."""

    async def close(self) -> None:
        """Release what it opened."""


def configuration_reason(exc: Exception) -> str | None:
    """What an admin must fix, when `exc` is a configuration problem; else None."""
    if isinstance(exc, FilterIgnored):
        return str(exc)
    if isinstance(exc, HttpStatusError) and exc.status in CONFIGURATION_STATUSES:
        hint = (
            " (the API user's role needs the users index permission, `:index, User`)"
            if "/api/v2/users" in str(exc)
            else ""
        )
        return f"configuration error: {exc}{hint}"
    return None


def run_all(
    queries: Sequence[tuple[str, FetchQuery]],
    open_store: Callable[[], Awaitable[ControlStore]],
) -> Callable[[], Awaitable[int]]:
    """One fetch pass over every `(flow, query)`, in order."""
    cleared: set[str] = set()
    metrics = FetchMetrics.for_registry()

    async def fetch_pass() -> int:
        published = 0
        failure: Exception | None = None
        for flow, query in queries:
            source = f"{STAGE}:{flow}"
            try:
                published += await metrics.measure_pass(flow, query.run)
            except Exception as exc:
                reason = configuration_reason(exc)
                if reason is None:
                    log.error("fetch_query_failed", flow=flow, error_class=type(exc).__name__)
                    failure = failure or exc
                    continue
                store = await open_store()
                first = await store.report_problem(source, reason)
                if first:
                    log.error("fetch_configuration_problem", flow=flow, reason=reason)
                else:
                    log.info("fetch_configuration_problem_persists", flow=flow)
                cleared.discard(source)
                failure = failure or ConfigurationProblem(reason, first_report=first)
            else:
                if source not in cleared:
                    # Once per process, and again after each reported problem.
                    await (await open_store()).clear_problem(source)
                    cleared.add(source)
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
