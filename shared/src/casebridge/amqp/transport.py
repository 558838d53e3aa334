"""RabbitMQ transport: declare the topology, publish with confirms, consume with batched acks."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from casebridge.acks import AckTracker
from casebridge.amqp.channel import AsyncChannel
from casebridge.amqp.connection import AmqpConnection
from casebridge.amqp.publisher import ConfirmingPublisher
from casebridge.background import BackgroundTasks
from casebridge.topology import Topology
from casebridge.transport import (
    ConfirmCallback,
    ConsumerHandle,
    Delivery,
    DeliveryCallback,
    Outgoing,
    Transport,
)

log = structlog.get_logger(__name__)


class AmqpTransport(Transport):
    """Transport over one reconnecting pika connection (asyncio adapter)."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "casebridge",
        publish_window: int = 1000,
        publish_timeout_s: float = 30.0,
        connect_timeout_s: float = 30.0,
        ack_batch: int = 200,
        ack_interval_s: float = 0.05,
    ) -> None:
        self.connection = AmqpConnection(url, name=name, connect_timeout_s=connect_timeout_s)
        self._publisher = ConfirmingPublisher(
            self.connection, window=publish_window, timeout_s=publish_timeout_s
        )
        self._ack_batch = ack_batch
        self._ack_interval_s = ack_interval_s
        self._consumers: list[_AmqpConsumer] = []

    @property
    def is_ready(self) -> bool:
        """True while connected."""
        return self.connection.is_ready

    async def connect(self) -> None:
        """Connect and open the publisher channel."""
        await self.connection.connect()
        await self._publisher.start()

    async def declare(self, topology: Topology) -> None:
        """Declare exchanges, queues (with their exact arguments) and bindings, idempotently."""
        channel = await self.connection.channel()
        try:
            for ex in topology.exchanges:
                await channel.call(
                    channel.raw.exchange_declare,
                    exchange=ex.name,
                    exchange_type=ex.type,
                    durable=True,
                )
            for q in topology.queues():
                await channel.call(
                    channel.raw.queue_declare,
                    queue=q.name,
                    durable=True,
                    arguments=dict(q.arguments),
                )
            for b in topology.bindings():
                await channel.call(
                    channel.raw.queue_bind,
                    queue=b.queue,
                    exchange=b.exchange,
                    routing_key=b.routing_key,
                )
        finally:
            channel.close()

    async def publish(self, message: Outgoing) -> None:
        """Publish and wait for the broker's confirm."""
        await self._publisher.publish(message)

    def publish_then(self, message: Outgoing, on_done: ConfirmCallback) -> None:
        """Send now; `on_done` runs from the broker's confirm."""
        self._publisher.publish_then(message, on_done)

    async def consume(
        self, queue: str, callback: DeliveryCallback, *, prefetch: int
    ) -> ConsumerHandle:
        """Subscribe with manual acks; re-subscribes by itself after a reconnect."""
        consumer = _AmqpConsumer(
            self, queue, callback, prefetch, self._ack_batch, self._ack_interval_s
        )
        await consumer.start()
        self._consumers.append(consumer)
        return consumer

    async def close(self) -> None:
        """Cancel consumers, close the publisher and the connection."""
        for consumer in self._consumers:
            with contextlib.suppress(Exception):
                await consumer.cancel()
        await self._publisher.close()
        await self.connection.close()


class _AmqpDelivery(Delivery):
    __slots__ = (
        "_consumer",
        "_epoch",
        "_settled",
        "_tag",
        "body",
        "correlation_id",
        "headers",
        "message_id",
        "message_type",
        "queue",
        "redelivered",
        "routing_key",
    )

    def __init__(
        self,
        consumer: _AmqpConsumer,
        epoch: int,
        tag: int,
        body: bytes,
        props: Any,
        redelivered: bool,
        routing_key: str,
    ) -> None:
        self._consumer = consumer
        self._epoch = epoch
        self._tag = tag
        self._settled = False
        self.body = body
        self.headers = dict(props.headers or {})
        self.message_id = props.message_id
        self.correlation_id = props.correlation_id
        self.message_type = props.type
        self.redelivered = redelivered
        self.queue = consumer.queue
        self.routing_key = routing_key

    def ack(self) -> None:
        if not self._settled:
            self._settled = True
            self._consumer.settle(self._epoch, self._tag, requeue=False)

    def requeue(self) -> None:
        if not self._settled:
            self._settled = True
            self._consumer.settle(self._epoch, self._tag, requeue=True)


class _AmqpConsumer(ConsumerHandle):
    """One subscription; each channel incarnation is an epoch, and acks for a dead one are moot.

    When a channel dies its unacked deliveries go back to the queue on the broker side, so late
    acks from handlers that were still running are dropped rather than sent on the new channel.
    """

    def __init__(
        self,
        transport: AmqpTransport,
        queue: str,
        callback: DeliveryCallback,
        prefetch: int,
        ack_batch: int,
        ack_interval_s: float,
    ) -> None:
        self._transport = transport
        self.queue = queue
        self._callback = callback
        self._prefetch = prefetch
        self._ack_batch = ack_batch
        self._ack_interval_s = ack_interval_s
        self._channel: AsyncChannel | None = None
        self._tracker: AckTracker | None = None
        self._epoch = 0
        self._tag: str | None = None
        self._cancelled = False
        self._background = BackgroundTasks(f"consumer:{queue}")
        transport.connection.on_reconnect(self._resubscribe)

    async def start(self) -> None:
        channel = await self._transport.connection.channel()
        await channel.call(channel.raw.basic_qos, prefetch_count=self._prefetch)
        self._epoch += 1
        epoch = self._epoch
        raw = channel.raw
        tracker = AckTracker(
            lambda tag: raw.basic_ack(tag, multiple=True) if raw.is_open else None,
            batch=self._ack_batch,
            interval_s=self._ack_interval_s,
        )

        def on_message(_ch: Any, method: Any, props: Any, body: bytes) -> None:
            tracker.received(method.delivery_tag)
            self._callback(
                _AmqpDelivery(
                    self,
                    epoch,
                    method.delivery_tag,
                    body,
                    props,
                    bool(method.redelivered),
                    method.routing_key,
                )
            )

        self._channel, self._tracker = channel, tracker
        channel.on_close(lambda reason: self._on_channel_closed(epoch, reason))
        self._tag = raw.basic_consume(self.queue, on_message, auto_ack=False)

    def settle(self, epoch: int, tag: int, *, requeue: bool) -> None:
        if epoch != self._epoch or self._channel is None or not self._channel.is_open:
            return
        assert self._tracker is not None
        if requeue:
            self._channel.raw.basic_nack(tag, multiple=False, requeue=True)
        self._tracker.settled(tag, acked=not requeue)

    async def flush(self) -> None:
        if self._tracker is not None and self._channel is not None and self._channel.is_open:
            self._tracker.flush()

    async def cancel(self) -> None:
        if self._cancelled:
            return
        self._cancelled = True
        await self._background.cancel_all()
        channel = self._channel
        if channel is not None and channel.is_open and self._tag is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    channel.call(channel.raw.basic_cancel, consumer_tag=self._tag), 5
                )

    async def close_channel(self) -> None:
        """Flush acks and close; unacked deliveries return to the queue."""
        await self.flush()
        if self._channel is not None:
            self._channel.close()

    def _on_channel_closed(self, epoch: int, reason: BaseException) -> None:
        if epoch != self._epoch or self._cancelled:
            return
        if self._transport.connection.is_ready:
            # The broker closed only this channel (e.g. an ack for an unknown tag): subscribe again.
            log.error("consumer_channel_closed", queue=self.queue, reason=repr(reason))
            self._background.spawn(self._resubscribe(delay_s=1.0), name="resubscribe")

    async def _resubscribe(self, delay_s: float = 0.0) -> None:
        if self._cancelled:
            return
        if delay_s:
            await asyncio.sleep(delay_s)
        try:
            await self.start()
            log.info("consumer_resubscribed", queue=self.queue)
        except Exception as exc:
            log.error("consumer_resubscribe_failed", queue=self.queue, error=repr(exc))
