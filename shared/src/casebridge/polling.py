"""The fetchers' schedule: a fetch pass now and then every interval, until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from casebridge.topology import Topology
from casebridge.transport import Transport

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


@dataclass
class PollingService:
    """A fetcher as `run_service` drives it: connect and declare, then poll until stopped.

    `fetch_pass` is the fetcher's own work (its queries, cursors and publishing).
    """

    transport: Transport
    topology: Topology
    fetch_pass: Callable[[], Awaitable[int]]
    interval_s: float
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _loop_task: asyncio.Task[None] | None = field(default=None, init=False)
    _declared: bool = field(default=False, init=False)

    async def connect(self) -> None:
        """Connect and declare the topology."""
        await self.transport.connect()
        await self.transport.declare(self.topology)
        self._declared = True

    async def run_once(self) -> int:
        """Connect, run one pass, disconnect; returns records published."""
        await self.connect()
        try:
            return await self.fetch_pass()
        finally:
            await self.transport.close()

    async def start(self) -> None:
        """Connect and start polling in the background."""
        await self.connect()
        self._loop_task = asyncio.get_running_loop().create_task(
            poll_until_stopped(self.fetch_pass, interval_s=self.interval_s, stop=self.stopping)
        )

    async def stop(self) -> None:
        """Let the current pass finish, then disconnect."""
        self.stopping.set()
        if self._loop_task is not None:
            await self._loop_task
        await self.transport.close()

    def ready(self) -> bool:
        """Ready once the topology is declared, while the broker connection is up."""
        return self._declared and self.transport.is_ready
