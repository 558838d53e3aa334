"""Fixtures of the loader tests: an in-memory control store and the loader over an in-process
broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from prometheus_client import REGISTRY

from casebridge.control import ControlStore
from casebridge.memory import MemoryTransport
from casebridge.messages import DeadLetter, UpsertCommand
from casebridge.publishing import MessagePublisher
from casebridge.service import ConsumingService
from casebridge.testing.memory_control_store import (
    MemoryControlStore as SharedMemoryControlStore,
)
from casebridge.topology import loader_queue
from loader.bootstrap import bootstrap
from loader.config import Settings
from loader.target import Target

#: Short retry tiers, so a retry takes tens of milliseconds.
RETRY_DELAYS = (0.05, 0.1, 0.2)


class MemoryControlStore(SharedMemoryControlStore):
    """The shared in-memory `ControlStore` (same semantics as the SQL store), plus `outcomes`."""

    def outcomes(self) -> list[tuple[str, str]]:
        """(operation, outcome) of every lineage row, in order."""
        return [(e.operation, e.outcome) for e in self.lineage]


async def wait_for(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll until `predicate()` holds; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


@dataclass
class RunningLoader:
    """The real loader service (bootstrap, Consumer) over the in-process broker."""

    service: ConsumingService
    transport: MemoryTransport
    queue: str

    @property
    def publisher(self) -> MessagePublisher:
        return MessagePublisher(self.transport, self.service.topology)

    async def send(self, *commands: UpsertCommand) -> None:
        await self.publisher.publish_many(commands)

    def count(self, outcome: str) -> int:
        value = REGISTRY.get_sample_value(
            "casebridge_messages_total", {"queue": self.queue, "outcome": outcome}
        )
        return int(value or 0)

    def counts(self) -> dict[str, int]:
        outcomes = ("handled", "superseded", "retried", "parked", "dead_lettered", "requeued")
        return {o: n for o in outcomes if (n := self.count(o))}

    def finished(self) -> int:
        return self.count("handled") + self.count("superseded") + self.count("dead_lettered")

    def depth(self, queue: str) -> int:
        return self.transport.broker.depth(queue)

    def dead_letters(self) -> list[DeadLetter]:
        queue = self.transport.broker.queues[f"{self.queue}.dlq"]
        messages = list(queue.messages)
        return [DeadLetter.from_message(m.body, m.headers) for m in messages]


@asynccontextmanager
async def running_loader(
    target: Target, store: ControlStore, prefix: str, **settings: Any
) -> AsyncIterator[RunningLoader]:
    """Bootstrap the loader for `target` with short retry tiers; stop it on exit."""
    config = Settings(
        transport="memory",
        topology_prefix=prefix,
        retry_delays_s=RETRY_DELAYS,
        loader_target=target.name,
        health_port=0,
        **settings,
    )
    transport = MemoryTransport()
    service = await bootstrap(config, transport=transport, store=store, target=target)
    await service.start()
    try:
        yield RunningLoader(service, transport, loader_queue(prefix, target.name))
    finally:
        await service.stop()


@pytest.fixture
def store() -> MemoryControlStore:
    return MemoryControlStore()


@pytest.fixture(autouse=True)
def _fresh_log_context() -> None:
    structlog.contextvars.clear_contextvars()
