"""Taps on the real wiring that count outcomes per flow, changing none of them.

Each wraps what a service's `bootstrap` accepts anyway (a transport, the transformer's router, a
loader target), so the services run their production code paths: the counts are what happened,
not what was expected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TextIO

from casebridge import dead_letter_file
from casebridge import headers as h
from casebridge.errors import Superseded
from casebridge.messages import DeadLetter, Envelope, UpsertCommand
from casebridge.topology import Topology
from casebridge.transport import (
    ConfirmCallback,
    ConsumerHandle,
    DeliveryCallback,
    Outgoing,
    Transport,
)
from casebridge_local.tally import Tally
from loader.target import Target
from transformer.flows import FlowRouter

Publish = Callable[[Iterable[Envelope]], Awaitable[None]]


class CountingTransport(Transport):
    """Counts confirmed raw-record publishes (fetched) and dead letters, by flow; writes each
    dead letter's metadata (never its body) to `letters` when given."""

    def __init__(
        self, inner: Transport, tally: Tally, raw_exchange: str, letters: TextIO | None = None
    ) -> None:
        self.inner = inner
        self._tally = tally
        self._raw_exchange = raw_exchange
        self._letters = letters

    @property
    def is_ready(self) -> bool:
        return self.inner.is_ready

    async def connect(self) -> None:
        await self.inner.connect()

    async def declare(self, topology: Topology) -> None:
        await self.inner.declare(topology)

    async def publish(self, message: Outgoing) -> None:
        await self.inner.publish(message)
        self._count(message)

    def publish_then(self, message: Outgoing, on_done: ConfirmCallback) -> None:
        def done(error: BaseException | None) -> None:
            if error is None:
                self._count(message)
            on_done(error)

        self.inner.publish_then(message, done)

    async def consume(
        self, queue: str, callback: DeliveryCallback, *, prefetch: int
    ) -> ConsumerHandle:
        return await self.inner.consume(queue, callback, prefetch=prefetch)

    async def close(self) -> None:
        await self.inner.close()

    def _count(self, message: Outgoing) -> None:
        if h.DEAD_QUEUE in message.headers:
            counts = self._tally[str(message.headers.get(h.FLOW) or "?")]
            counts.dead_lettered += 1
            stage = str(message.headers.get(h.DEAD_STAGE) or "?")
            counts.reasons[stage, str(message.headers.get(h.DEAD_ERROR_MESSAGE) or "?")] += 1
            if self._letters is not None:
                letter = DeadLetter.from_message(
                    message.body,
                    message.headers,
                    message_id=message.message_id,
                    correlation_id=message.correlation_id,
                    message_type=message.message_type,
                )
                dead_letter_file.write(self._letters, letter)
        elif message.exchange == self._raw_exchange:
            # Raw records are routed `<flow>.<system>` (casebridge.topology).
            self._tally[message.routing_key.split(".", 1)[0]].fetched += 1


class CountingRouter(FlowRouter):
    """The transformer's router; counts each raw record mapped and the commands it gave."""

    def __init__(self, inner: FlowRouter, tally: Tally) -> None:
        super().__init__({})
        self._inner = inner
        self._tally = tally

    @property
    def flows(self) -> list[str]:
        return self._inner.flows

    def __call__(self, message: Envelope) -> Sequence[UpsertCommand]:
        commands = self._inner(message)
        counts = self._tally[message.flow]
        counts.mapped += 1
        counts.commands += len(commands)
        return commands


class CountingTarget:
    """A loader target whose `apply` outcomes are counted: loaded or superseded, by flow.

    Everything else (`prefetch`, `follow_up_targets`, …) is the wrapped target's; a follow-up
    publisher handed to it is wrapped so its commands are counted too.
    """

    def __init__(self, inner: Target, tally: Tally) -> None:
        self._inner = inner
        self._tally = tally
        self.name = inner.name

    async def start(self) -> None:
        await self._inner.start()

    async def close(self) -> None:
        await self._inner.close()

    async def apply(self, command: UpsertCommand) -> None:
        try:
            await self._inner.apply(command)
        except Superseded:
            self._tally[command.flow].superseded += 1
            raise
        self._tally[command.flow].loaded += 1

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._inner, attribute)
        if attribute == "use_publisher":
            return lambda publish: value(self._counting(publish))
        return value

    def _counting(self, publish: Publish) -> Publish:
        async def counted(messages: Iterable[Envelope]) -> None:
            batch = list(messages)
            await publish(batch)
            for message in batch:
                self._tally[message.flow].commands += 1

        return counted
