"""Fixtures of the loader tests: an in-memory control store and an in-process bus."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import pytest
import structlog
from prometheus_client import CollectorRegistry

from casebridge.control import AuditEntry, Cursor, LineageEntry
from casebridge.memory import MemoryTransport
from casebridge.memory.broker import StoredMessage
from casebridge.messages import DeadLetter
from casebridge.metrics import ConsumerMetrics
from casebridge.publishing import MessagePublisher
from casebridge.topology import Topology, build_topology, loader_queue

#: Short retry tiers, so a retry takes tens of milliseconds.
RETRY_DELAYS = (0.05, 0.1, 0.2)
PREFIX = "t"


class MemoryControlStore:
    """The `ControlStore` protocol in dicts, for tests (same semantics as the SQL store)."""

    def __init__(self) -> None:
        self.cursors: dict[str, Cursor] = {}
        self.processed: dict[str, set[str]] = {}
        self.versions: dict[tuple[str, str], datetime] = {}
        self.lineage: list[LineageEntry] = []
        self.audits: list[AuditEntry] = []

    async def get_cursor(self, name: str) -> Cursor | None:
        return self.cursors.get(name)

    async def set_cursor(self, name: str, value: str) -> None:
        from casebridge.messages.envelope import utc_now

        self.cursors[name] = Cursor(name, value, utc_now())

    async def delete_cursor(self, name: str) -> None:
        self.cursors.pop(name, None)

    async def list_cursors(self) -> list[Cursor]:
        return [self.cursors[n] for n in sorted(self.cursors)]

    async def seen(self, stage: str, message_ids: Iterable[str]) -> set[str]:
        return set(message_ids) & self.processed.get(stage, set())

    async def remember(self, stage: str, message_ids: Iterable[str]) -> None:
        self.processed.setdefault(stage, set()).update(message_ids)

    async def applied_version(self, target: str, key: str) -> datetime | None:
        return self.versions.get((target, key))

    async def set_applied_version(self, target: str, key: str, version: datetime) -> None:
        current = self.versions.get((target, key))
        if current is None or current < version:
            self.versions[(target, key)] = version

    async def record_lineage(self, entries: Iterable[LineageEntry]) -> None:
        self.lineage.extend(entries)

    async def lineage_of(self, source_system: str, source_id: str) -> list[LineageEntry]:
        return [
            e for e in self.lineage if (e.source_system, e.source_id) == (source_system, source_id)
        ]

    async def audit(self, entry: AuditEntry) -> None:
        self.audits.append(entry)

    async def audit_log(self, since: datetime | None = None) -> list[AuditEntry]:
        return [a for a in self.audits if since is None or a.at >= since]

    async def close(self) -> None:
        return None

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
class Bus:
    """A declared in-process topology for the loader targets, counted in a private registry."""

    transport: MemoryTransport
    topology: Topology
    registry: CollectorRegistry
    metrics: ConsumerMetrics
    stopping: list[Callable[[], object]] = field(default_factory=list)

    @property
    def publisher(self) -> MessagePublisher:
        return MessagePublisher(self.transport, self.topology)

    def queue(self, target: str) -> str:
        return loader_queue(PREFIX, target)

    def count(self, target: str, outcome: str) -> int:
        value = self.registry.get_sample_value(
            "casebridge_messages_total", {"queue": self.queue(target), "outcome": outcome}
        )
        return int(value or 0)

    def counts(self, target: str) -> dict[str, int]:
        outcomes = ("handled", "superseded", "retried", "parked", "dead_lettered", "requeued")
        return {o: n for o in outcomes if (n := self.count(target, o))}

    def depth(self, queue: str) -> int:
        return self.transport.broker.depth(queue)

    def drain(self, queue: str) -> list[StoredMessage]:
        messages = list(self.transport.broker.queues[queue].messages)
        self.transport.broker.queues[queue].messages.clear()
        return messages

    def dead_letters(self, target: str) -> list[DeadLetter]:
        dlq = f"{self.queue(target)}.dlq"
        return [DeadLetter.from_message(m.body, m.headers) for m in self.drain(dlq)]


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    """A connected MemoryTransport with oscar and primero loader queues and short retry tiers."""
    topology = build_topology(
        PREFIX, targets=("oscar", "primero"), retry_delays=RETRY_DELAYS, delivery_limit=5
    )
    transport = MemoryTransport()
    await transport.connect()
    await transport.declare(topology)
    registry = CollectorRegistry()
    yield Bus(transport, topology, registry, ConsumerMetrics.for_registry(registry))
    await transport.close()


@pytest.fixture
def store() -> MemoryControlStore:
    return MemoryControlStore()


@pytest.fixture(autouse=True)
def _fresh_log_context() -> None:
    structlog.contextvars.clear_contextvars()
