"""An in-process broker: exchanges, queues, TTL dead-lettering and delivery limits, no durability.

It exists so a whole pipeline can run in one process (local mode, fast tests). It honours the
same queue arguments the RabbitMQ topology declares — `x-message-ttl` with dead-letter exchange
and routing key (retry tiers), `x-delivery-limit` (quorum), the DLX of work queues — so retry and
dead-letter behaviour match. It is not a substitute for the real-broker tests.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from casebridge.errors import PublishNotConfirmed, Unroutable
from casebridge.topology import BindingSpec, ExchangeSpec, QueueSpec
from casebridge.transport import Outgoing


@dataclass
class StoredMessage:
    """A message sitting in a memory queue."""

    body: bytes
    headers: dict[str, Any]
    routing_key: str
    message_id: str | None
    correlation_id: str | None
    message_type: str | None
    redelivered: bool = False
    deliveries: int = 0


@dataclass
class MemoryConsumer:
    """A subscription: callback plus its prefetch budget."""

    callback: Callable[[StoredMessage], None]
    prefetch: int
    unacked: int = 0
    active: bool = True


@dataclass
class MemoryQueue:
    """A queue with its arguments, its messages and its consumers."""

    spec: QueueSpec
    messages: deque[StoredMessage] = field(default_factory=deque)
    consumers: list[MemoryConsumer] = field(default_factory=list)
    _turn: itertools.cycle[int] | None = None


class MemoryBroker:
    """The broker state shared by every MemoryTransport of a process."""

    def __init__(self) -> None:
        self.exchanges: dict[str, ExchangeSpec] = {}
        self.queues: dict[str, MemoryQueue] = {}
        self.bindings: list[BindingSpec] = []
        self._scheduled: set[str] = set()

    def declare_exchange(self, spec: ExchangeSpec) -> None:
        """Idempotent."""
        self.exchanges.setdefault(spec.name, spec)

    def declare_queue(self, spec: QueueSpec) -> None:
        """Idempotent; arguments must match an earlier declaration, as RabbitMQ requires."""
        existing = self.queues.get(spec.name)
        if existing is None:
            self.queues[spec.name] = MemoryQueue(spec)
        elif dict(existing.spec.arguments) != dict(spec.arguments):
            raise PublishNotConfirmed(
                f"406 PRECONDITION_FAILED - inequivalent arguments for queue '{spec.name}'"
            )

    def bind(self, spec: BindingSpec) -> None:
        """Idempotent."""
        if spec not in self.bindings:
            self.bindings.append(spec)

    def depth(self, queue: str) -> int:
        """Messages waiting (not delivered) in a queue."""
        return len(self.queues[queue].messages)

    def route(self, message: Outgoing) -> None:
        """Deliver to every bound queue; raise as RabbitMQ's confirm/return would."""
        targets = self._targets(message.exchange, message.routing_key)
        if not targets:
            raise Unroutable(
                f"no queue bound for routing key {message.routing_key!r}"
                f" on exchange {message.exchange!r}"
            )
        for queue in targets:
            self.enqueue(
                queue,
                StoredMessage(
                    body=message.body,
                    headers=dict(message.headers),
                    routing_key=message.routing_key,
                    message_id=message.message_id,
                    correlation_id=message.correlation_id,
                    message_type=message.message_type,
                ),
            )

    def enqueue(self, queue: MemoryQueue, message: StoredMessage) -> None:
        """Append and, for TTL queues, schedule the dead-lettering that ends the wait."""
        queue.messages.append(message)
        ttl = queue.spec.arguments.get("x-message-ttl")
        if ttl is not None:
            asyncio.get_running_loop().call_later(ttl / 1000, self._expire, queue, message)
        self.dispatch_soon(queue)

    def dead_letter(self, queue: MemoryQueue, message: StoredMessage, reason: str) -> None:
        """Route to the queue's dead-letter exchange, adding an x-death entry like RabbitMQ."""
        args = queue.spec.arguments
        if "x-dead-letter-exchange" not in args:
            return  # RabbitMQ drops it too; our topology always sets a DLX on work queues
        exchange = str(args["x-dead-letter-exchange"])
        routing_key = str(args.get("x-dead-letter-routing-key", message.routing_key))
        headers = dict(message.headers)
        headers["x-death"] = [{"queue": queue.spec.name, "reason": reason, "count": 1}]
        for target in self._targets(exchange, routing_key):
            self.enqueue(
                target,
                StoredMessage(
                    body=message.body,
                    headers=headers,
                    routing_key=routing_key,
                    message_id=message.message_id,
                    correlation_id=message.correlation_id,
                    message_type=message.message_type,
                ),
            )

    def dispatch_soon(self, queue: MemoryQueue) -> None:
        """Schedule one dispatch pass (coalesced) on the running loop."""
        if queue.spec.name not in self._scheduled:
            self._scheduled.add(queue.spec.name)
            asyncio.get_running_loop().call_soon(self._dispatch, queue)

    def _dispatch(self, queue: MemoryQueue) -> None:
        self._scheduled.discard(queue.spec.name)
        while queue.messages:
            consumer = self._free_consumer(queue)
            if consumer is None:
                return
            message = queue.messages.popleft()
            message.deliveries += 1
            consumer.unacked += 1
            consumer.callback(message)

    @staticmethod
    def _free_consumer(queue: MemoryQueue) -> MemoryConsumer | None:
        for consumer in queue.consumers:
            if consumer.active and consumer.unacked < consumer.prefetch:
                queue.consumers.remove(consumer)
                queue.consumers.append(consumer)  # round robin
                return consumer
        return None

    def _expire(self, queue: MemoryQueue, message: StoredMessage) -> None:
        try:
            queue.messages.remove(message)
        except ValueError:
            return  # consumed meanwhile
        self.dead_letter(queue, message, "expired")

    def _targets(self, exchange: str, routing_key: str) -> list[MemoryQueue]:
        if exchange == "":
            queue = self.queues.get(routing_key)
            return [queue] if queue else []
        spec = self.exchanges.get(exchange)
        if spec is None:
            raise PublishNotConfirmed(f"404 NOT_FOUND - no exchange '{exchange}'")
        names = [
            b.queue
            for b in self.bindings
            if b.exchange == exchange
            and (
                spec.type == "fanout"
                or (spec.type == "direct" and b.routing_key == routing_key)
                or (spec.type == "topic" and topic_matches(b.routing_key, routing_key))
            )
        ]
        return [self.queues[n] for n in dict.fromkeys(names) if n in self.queues]


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: `*` is one word, `#` is zero or more words."""
    return _match(pattern.split("."), key.split("."))


def _match(pat: list[str], words: list[str]) -> bool:
    if not pat:
        return not words
    head, rest = pat[0], pat[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head in ("*", words[0])) and _match(rest, words[1:])
