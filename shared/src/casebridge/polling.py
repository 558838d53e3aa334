"""The fetchers' schedule: run a fetch pass now and then every interval, until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def poll_until_stopped(
    fetch_pass: Callable[[], Awaitable[int]], *, interval_s: float, stop: asyncio.Event
) -> None:
    """Call `fetch_pass` (returns records published) every `interval_s` until `stop` is set.

    A failed pass is logged and retried at the next tick: the cursors only ever advance after
    a confirmed publish, so retrying a pass never skips records.
    """
    while not stop.is_set():
        try:
            published = await fetch_pass()
            log.info("fetch_pass_done", published=published)
        except Exception as exc:
            log.error("fetch_pass_failed", error_class=type(exc).__name__, reason=str(exc)[:300])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
