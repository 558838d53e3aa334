"""The Transport interface over a MemoryBroker."""

from __future__ import annotations

import asyncio

from casebridge.memory.broker import MemoryBroker, MemoryConsumer, MemoryQueue, StoredMessage
from casebridge.topology import Topology
from casebridge.transport import (
    ConfirmCallback,
    ConsumerHandle,
    Delivery,
    DeliveryCallback,
    Outgoing,
    Transport,
)


class MemoryTransport(Transport):
    """In-process transport; several transports may share one broker (one per service)."""

    def __init__(self, broker: MemoryBroker | None = None) -> None:
        self.broker = broker or MemoryBroker()
        self._connected = False

    @property
    def is_ready(self) -> bool:
        """True once connected."""
        return self._connected

    async def connect(self) -> None:
        """Nothing to reach; marks the transport ready."""
        self._connected = True

    async def declare(self, topology: Topology) -> None:
        """Declare into the shared broker state."""
        for ex in topology.exchanges:
            self.broker.declare_exchange(ex)
        for q in topology.queues():
            self.broker.declare_queue(q)
        for b in topology.bindings():
            self.broker.bind(b)

    async def publish(self, message: Outgoing) -> None:
        """Route at once; the 'confirm' is the routing succeeding."""
        self.broker.route(message)

    def publish_then(self, message: Outgoing, on_done: ConfirmCallback) -> None:
        """Route at once; `on_done` runs on the next loop turn, as a confirm would."""
        error: BaseException | None = None
        try:
            self.broker.route(message)
        except Exception as exc:
            error = exc
        asyncio.get_running_loop().call_soon(on_done, error)

    async def consume(
        self, queue: str, callback: DeliveryCallback, *, prefetch: int
    ) -> ConsumerHandle:
        """Subscribe to a declared queue."""
        mq = self.broker.queues[queue]
        handle = _MemoryHandle(self.broker, mq)

        def deliver(message: StoredMessage) -> None:
            callback(_MemoryDelivery(self.broker, mq, handle.consumer, message))

        handle.consumer = MemoryConsumer(deliver, prefetch)
        mq.consumers.append(handle.consumer)
        self.broker.dispatch_soon(mq)
        return handle

    async def close(self) -> None:
        """Mark as closed (messages stay in the shared broker)."""
        self._connected = False


class _MemoryHandle(ConsumerHandle):
    def __init__(self, broker: MemoryBroker, queue: MemoryQueue) -> None:
        self._broker = broker
        self._queue = queue
        self.consumer = MemoryConsumer(lambda _m: None, 0)

    async def cancel(self) -> None:
        self.consumer.active = False
        if self.consumer in self._queue.consumers:
            self._queue.consumers.remove(self.consumer)

    async def flush(self) -> None:
        """Acks are immediate in memory."""


class _MemoryDelivery(Delivery):
    def __init__(
        self,
        broker: MemoryBroker,
        queue: MemoryQueue,
        consumer: MemoryConsumer,
        message: StoredMessage,
    ) -> None:
        self._broker = broker
        self._queue = queue
        self._consumer = consumer
        self._message = message
        self._settled = False
        self.body = message.body
        self.headers = dict(message.headers)
        self.message_id = message.message_id
        self.correlation_id = message.correlation_id
        self.message_type = message.message_type
        self.redelivered = message.redelivered
        self.queue = queue.spec.name
        self.routing_key = message.routing_key

    def ack(self) -> None:
        if self._settle():
            self._broker.dispatch_soon(self._queue)

    def requeue(self) -> None:
        if not self._settle():
            return
        message = self._message
        limit = self._queue.spec.arguments.get("x-delivery-limit")
        if limit is not None and message.deliveries > int(limit):
            self._broker.dead_letter(self._queue, message, "delivery_limit")
        else:
            message.redelivered = True
            self._queue.messages.appendleft(message)
        self._broker.dispatch_soon(self._queue)

    def _settle(self) -> bool:
        if self._settled:
            return False
        self._settled = True
        self._consumer.unacked -= 1
        return True
