"""Builds the transport a service's settings ask for."""

from __future__ import annotations

from casebridge.amqp import AmqpTransport
from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.settings import BrokerSettings
from casebridge.topology import Topology, build_topology
from casebridge.transport import Transport


def build_transport(
    settings: BrokerSettings, *, name: str, memory_broker: MemoryBroker | None = None
) -> Transport:
    """RabbitMQ by default; the in-process broker when `transport=memory` (local mode)."""
    if settings.transport == "memory":
        return MemoryTransport(memory_broker)
    return AmqpTransport(
        settings.rabbitmq_url.get_secret_value(),
        name=name,
        publish_window=settings.publish_window,
        publish_timeout_s=settings.publish_timeout_s,
        connect_timeout_s=settings.connect_timeout_s,
        ack_batch=settings.ack_batch,
        ack_interval_s=settings.ack_interval_ms / 1000,
    )


def topology_from(settings: BrokerSettings, targets: tuple[str, ...] | None = None) -> Topology:
    """The deployment's topology as its settings shape it."""
    kwargs = {} if targets is None else {"targets": targets}
    return build_topology(
        settings.topology_prefix,
        retry_delays=settings.retry_delays_s,
        delivery_limit=settings.delivery_limit,
        queue_type=settings.queue_type,
        **kwargs,  # type: ignore[arg-type]
    )
