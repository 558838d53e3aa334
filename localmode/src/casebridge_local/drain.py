"""Knowing when a run is over: every work and retry queue empty and nothing in flight.

Dead-letter queues are not work: what sits there is an outcome (counted, left for an admin).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from casebridge.amqp import admin as admin_amqp
from casebridge.memory import MemoryBroker
from casebridge.topology import Topology


class Backlog(Protocol):
    """Messages still waiting somewhere in the broker (DLQs excluded)."""

    async def waiting(self) -> int: ...


class MemoryBacklog:
    """Queued plus delivered-but-unsettled messages of the in-process broker."""

    def __init__(self, broker: MemoryBroker) -> None:
        self._broker = broker

    async def waiting(self) -> int:
        queues = [q for name, q in self._broker.queues.items() if not name.endswith(".dlq")]
        return sum(len(q.messages) + sum(c.unacked for c in q.consumers) for q in queues)


class AmqpBacklog:
    """Ready messages of the topology's work and retry queues on RabbitMQ (one short blocking
    connection per look, in a thread; unacked ones are the consumers' `in_flight`)."""

    def __init__(self, url: str, topology: Topology) -> None:
        self._url = url
        self._queues = [q.name for q in topology.queues() if not q.name.endswith(".dlq")]

    async def waiting(self) -> int:
        return await asyncio.to_thread(admin_amqp.total_ready, self._url, self._queues)


async def wait_drained(
    backlog: Backlog,
    in_flight: Callable[[], int],
    *,
    timeout_s: float,
    on_poll: Callable[[], None] = lambda: None,
    every_s: float = 0.1,
    quiet_polls: int = 5,
) -> bool:
    """Poll until idle for `quiet_polls` looks in a row; False after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while quiet < quiet_polls:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every_s)
        on_poll()
        busy = in_flight() or await backlog.waiting()
        quiet = 0 if busy else quiet + 1
    on_poll()
    return True
