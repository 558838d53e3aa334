"""What the consumer wrapper and publishers need from a broker, real or in-process."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from casebridge.topology import Topology


@dataclass(frozen=True)
class Outgoing:
    """One message to publish: routing plus the encoded body and headers."""

    exchange: str
    routing_key: str
    body: bytes
    headers: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    correlation_id: str | None = None
    message_type: str | None = None


class Delivery(abc.ABC):
    """A message handed to a consumer; settle it exactly once with `ack` or `requeue`."""

    body: bytes
    headers: dict[str, Any]
    redelivered: bool
    queue: str
    routing_key: str
    message_id: str | None
    correlation_id: str | None
    message_type: str | None

    @abc.abstractmethod
    def ack(self) -> None:
        """Done with it (possibly batched with later acks)."""

    @abc.abstractmethod
    def requeue(self) -> None:
        """Give it back to the queue untouched (shutdown, or a failure to record the failure)."""


DeliveryCallback = Callable[[Delivery], None]
#: Called once with None when the broker confirmed a publish, or with the error.
ConfirmCallback = Callable[[BaseException | None], None]


class ConsumerHandle(abc.ABC):
    """A running subscription."""

    @abc.abstractmethod
    async def cancel(self) -> None:
        """Stop receiving new deliveries; deliveries already handed out stay settleable."""

    @abc.abstractmethod
    async def flush(self) -> None:
        """Send any batched acks now."""


class Transport(abc.ABC):
    """A broker connection: declare, publish with confirms, consume with manual acks."""

    @abc.abstractmethod
    async def connect(self) -> None:
        """Connect (retrying within the configured time); raises BrokerUnavailable."""

    @abc.abstractmethod
    async def declare(self, topology: Topology) -> None:
        """Declare every exchange, queue and binding; idempotent."""

    @abc.abstractmethod
    async def publish(self, message: Outgoing) -> None:
        """Return only once the broker confirmed the message; raise otherwise."""

    @abc.abstractmethod
    def publish_then(self, message: Outgoing, on_done: ConfirmCallback) -> None:
        """Send now; `on_done(None)` on the confirm, `on_done(error)` otherwise. No window: the
        caller's own bound (e.g. prefetch) limits how many are in flight."""

    @abc.abstractmethod
    async def consume(
        self, queue: str, callback: DeliveryCallback, *, prefetch: int
    ) -> ConsumerHandle:
        """Subscribe `callback` to `queue` with at most `prefetch` unacked deliveries."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close cleanly; unacked deliveries return to their queues."""

    @property
    @abc.abstractmethod
    def is_ready(self) -> bool:
        """True while connected (readiness probes read it)."""
