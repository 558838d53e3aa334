"""Unit-test fixtures of the shared library: an in-process bus with its own metrics registry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog
from prometheus_client import CollectorRegistry

from casebridge.consumer import Consumer, Handler
from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.memory.broker import StoredMessage
from casebridge.messages import default_registry
from casebridge.metrics import ConsumerMetrics
from casebridge.publishing import MessagePublisher
from casebridge.topology import Topology, build_topology, loader_queue, transformer_queue

#: Short tiers, so a retry takes tens of milliseconds.
RETRY_DELAYS = (0.05, 0.1, 0.2)
PREFIX = "t"
TRANSFORMER = transformer_queue(PREFIX)
SINK = loader_queue(PREFIX, "sink")


async def wait_for(predicate: Callable[[], bool], timeout_s: float = 3.0) -> None:
    """Poll until `predicate()` holds; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


@dataclass
class Bus:
    """A declared in-process topology, a publisher and consumers counted in a private registry."""

    transport: MemoryTransport
    topology: Topology
    registry: CollectorRegistry
    metrics: ConsumerMetrics
    consumers: list[Consumer] = field(default_factory=list)

    @property
    def broker(self) -> MemoryBroker:
        return self.transport.broker

    @property
    def publisher(self) -> MessagePublisher:
        return MessagePublisher(self.transport, self.topology)

    def consumer(self, queue: str, handler: Handler, **kwargs: Any) -> Consumer:
        consumer = Consumer(
            transport=self.transport,
            topology=self.topology,
            queue=queue,
            handler=handler,
            registry=default_registry(),
            stage="tests",
            metrics=self.metrics,
            **kwargs,
        )
        self.consumers.append(consumer)
        return consumer

    def count(self, outcome: str, queue: str = TRANSFORMER) -> int:
        """Messages the consumer of `queue` finished with `outcome`."""
        value = self.registry.get_sample_value(
            "casebridge_messages_total", {"queue": queue, "outcome": outcome}
        )
        return int(value or 0)

    def counts(self, queue: str = TRANSFORMER) -> dict[str, int]:
        """Every non-zero outcome count of `queue`."""
        outcomes = (
            "handled",
            "skipped_not_applicable",
            "superseded",
            "parked",
            "retried",
            "dead_lettered",
            "requeued",
        )
        return {o: n for o in outcomes if (n := self.count(o, queue))}

    def depth(self, queue: str) -> int:
        return self.broker.depth(queue)

    def unacked(self, queue: str) -> int:
        return sum(c.unacked for c in self.broker.queues[queue].consumers)

    def drain(self, queue: str) -> list[StoredMessage]:
        messages = list(self.broker.queues[queue].messages)
        self.broker.queues[queue].messages.clear()
        return messages


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    """A connected MemoryTransport with a `sink` loader target and 50/100/200 ms retry tiers."""
    topology = build_topology(
        PREFIX, targets=("sink",), retry_delays=RETRY_DELAYS, delivery_limit=2
    )
    transport = MemoryTransport()
    await transport.connect()
    await transport.declare(topology)
    registry = CollectorRegistry()
    bus = Bus(transport, topology, registry, ConsumerMetrics.for_registry(registry))
    yield bus
    for consumer in bus.consumers:
        await consumer.stop()
    await transport.close()


@pytest.fixture(autouse=True)
def _fresh_log_context() -> None:
    """Log context bound by one test never leaks into the next."""
    structlog.contextvars.clear_contextvars()
