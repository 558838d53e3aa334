"""Publishing typed messages: encode, route by the topology, wait for the broker's confirm."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from casebridge.confirms import all_confirmed, into_future
from casebridge.messages import Envelope, MessageRegistry
from casebridge.topology import Topology
from casebridge.transport import Outgoing, Transport


def to_outgoing(message: Envelope, exchange: str, routing_key: str) -> Outgoing:
    """Encode a message for the wire.

    No headers: identity travels in AMQP properties and everything else in the body; a header
    table costs ~5% of a hop in pika's encoder. Retries and dead letters add their own.
    """
    return Outgoing(
        exchange=exchange,
        routing_key=routing_key,
        body=MessageRegistry.encode(message),
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        message_type=message.message_type,
    )


class MessagePublisher:
    """Publishes messages where the topology routes them; returns once the broker confirmed."""

    def __init__(self, transport: Transport, topology: Topology) -> None:
        self._transport = transport
        self._topology = topology

    def route(self, message: Envelope) -> tuple[str, str]:
        """Exchange and routing key the topology gives `message`."""
        return self._topology.route(message)

    def publish_encoded(self, messages: Sequence[Outgoing]) -> asyncio.Future[None]:
        """Send already-encoded messages at once; the future settles when every one did.

        For producers that encode their own bodies (fetchers, hundreds per page): one future and
        one confirm callback per message instead of a task each, and sending starts before the
        caller awaits, so it can prepare the next batch meanwhile. The whole batch is in flight
        together (outside the transport's window), so keep batches page-sized. The future fails
        with the first error only after every message has settled.
        """
        settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done = all_confirmed(len(messages), into_future(settled))
        for message in messages:
            try:
                self._transport.publish_then(message, done)
            except Exception as exc:  # settles like a failed confirm
                done(exc)
        return settled

    async def publish(self, message: Envelope) -> None:
        """Publish one message and wait for its confirm."""
        exchange, routing_key = self._topology.route(message)
        await self._transport.publish(to_outgoing(message, exchange, routing_key))

    async def publish_many(self, messages: Iterable[Envelope]) -> None:
        """Publish all concurrently (the confirm window does the batching); raise the first error
        only after every publish has settled, so the caller knows nothing is still in flight."""
        results = await asyncio.gather(*(self.publish(m) for m in messages), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
