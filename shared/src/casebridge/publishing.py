"""Publishing typed messages: encode, route by the topology, wait for the broker's confirm."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from casebridge import headers as h
from casebridge.messages import Envelope, MessageRegistry, UpsertCommand
from casebridge.topology import Topology
from casebridge.transport import Outgoing, Transport


def envelope_headers(message: Envelope) -> dict[str, Any]:
    """Headers that let admins and tools filter without decoding bodies."""
    out: dict[str, Any] = {
        h.MESSAGE_TYPE: message.message_type,
        h.SCHEMA_VERSION: message.schema_version,
        h.MESSAGE_ID: message.message_id,
        h.CORRELATION_ID: message.correlation_id,
        h.FLOW: message.flow,
    }
    if isinstance(message, UpsertCommand) and message.mapping_version:
        out[h.MAPPING_VERSION] = message.mapping_version
    return out


def to_outgoing(message: Envelope, exchange: str, routing_key: str) -> Outgoing:
    """Encode a message for the wire."""
    return Outgoing(
        exchange=exchange,
        routing_key=routing_key,
        body=MessageRegistry.encode(message),
        headers=envelope_headers(message),
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        message_type=message.message_type,
    )


class MessagePublisher:
    """Publishes messages where the topology routes them; returns once the broker confirmed."""

    def __init__(self, transport: Transport, topology: Topology) -> None:
        self._transport = transport
        self._topology = topology

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
