"""A consuming service as `run_service` drives it: connect, declare, consume; drain, close."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from casebridge.consumer import Consumer
from casebridge.topology import Topology
from casebridge.transport import Transport

Hook = Callable[[], Awaitable[None]]


@dataclass
class ConsumingService:
    """Transport, topology and consumers of one service, with optional start/stop hooks.

    `on_start` runs after the broker is reachable and before consuming (e.g. open an HTTP
    session); `on_stop` runs after the consumers drained (e.g. close it). `ready_checks` are the
    service's own conditions for `/readyz` (a loader: its target's breaker is closed).
    """

    transport: Transport
    topology: Topology
    consumers: Sequence[Consumer]
    on_start: Sequence[Hook] = field(default_factory=tuple)
    on_stop: Sequence[Hook] = field(default_factory=tuple)
    ready_checks: Sequence[Callable[[], bool]] = field(default_factory=tuple)
    _consuming: bool = field(default=False, init=False)

    async def start(self) -> None:
        """Connect, declare the topology, run start hooks, start consuming."""
        await self.transport.connect()
        await self.transport.declare(self.topology)
        for hook in self.on_start:
            await hook()
        for consumer in self.consumers:
            await consumer.start()
        self._consuming = True

    async def stop(self) -> None:
        """Drain in-flight messages, run stop hooks, disconnect."""
        self._consuming = False
        for consumer in self.consumers:
            await consumer.stop()
        for hook in self.on_stop:
            await hook()
        await self.transport.close()

    def ready(self) -> bool:
        """Ready once the topology is declared and consumers run, while the broker is up and
        every `ready_checks` holds."""
        return (
            self._consuming
            and self.transport.is_ready
            and all(check() for check in self.ready_checks)
        )
