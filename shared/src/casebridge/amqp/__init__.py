"""RabbitMQ transport on pika's asyncio adapter (windowed confirms, batched acks, reconnect)."""

from casebridge.amqp.transport import AmqpTransport

__all__ = ["AmqpTransport"]
