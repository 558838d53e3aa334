"""The fetcher-oscar composition root: settings in, a runnable fetcher out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from casebridge.polling import poll_until_stopped
from casebridge.publishing import MessagePublisher
from casebridge.topology import Topology
from casebridge.transport import Transport
from casebridge.transports import build_transport, topology_from
from fetcher_oscar.config import Settings


@dataclass
class FetcherService:
    """Polls OSCaR on a schedule; the fetch queries of each flow plug in here."""

    settings: Settings
    transport: Transport
    topology: Topology
    publisher: MessagePublisher
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _loop_task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Connect and declare the topology."""
        await self.transport.connect()
        await self.transport.declare(self.topology)

    async def fetch_once(self) -> int:
        """One pass over every query; returns records published (no queries ship yet)."""
        return 0

    async def start(self) -> None:
        """Connect and start polling in the background."""
        await self.connect()
        self._loop_task = asyncio.get_running_loop().create_task(
            poll_until_stopped(
                self.fetch_once, interval_s=self.settings.poll_interval_s, stop=self.stopping
            )
        )

    async def stop(self) -> None:
        """Finish the current pass, then disconnect."""
        self.stopping.set()
        if self._loop_task is not None:
            await self._loop_task
        await self.transport.close()

    def ready(self) -> bool:
        """Ready while the broker connection is up."""
        return self.transport.is_ready


def bootstrap(settings: Settings, *, transport: Transport | None = None) -> FetcherService:
    """Build the fetcher; tests pass their own transport."""
    topology = topology_from(settings)
    transport = transport or build_transport(settings, name="fetcher-oscar")
    return FetcherService(settings, transport, topology, MessagePublisher(transport, topology))
