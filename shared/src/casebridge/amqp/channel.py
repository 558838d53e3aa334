"""A pika channel with awaitable RPCs that fail, instead of hanging, when the channel closes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pika.channel import Channel
from pika.exceptions import ChannelClosedByBroker

from casebridge.errors import BrokerError


class ChannelClosed(BrokerError):
    """The channel closed while an operation waited on it."""


class AsyncChannel:
    """Awaitable declare / bind / qos over pika's callback API.

    pika never calls an RPC's callback when the broker closes the channel instead (e.g. 404 or
    406 PRECONDITION_FAILED); every waiter is failed from the close callback so nothing hangs.
    """

    def __init__(self, channel: Channel) -> None:
        self.raw = channel
        self._waiters: set[asyncio.Future[Any]] = set()
        self.close_reason: BaseException | None = None
        self._close_listeners: list[Callable[[BaseException], None]] = []
        channel.add_on_close_callback(self._on_close)

    @property
    def is_open(self) -> bool:
        """True until the channel closes."""
        return bool(self.raw.is_open) and self.close_reason is None

    def on_close(self, listener: Callable[[BaseException], None]) -> None:
        """Call `listener(reason)` once the channel closes."""
        self._close_listeners.append(listener)

    async def call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        """Run a pika RPC method that takes `callback=` and await its reply frame."""
        if self.close_reason is not None:
            raise ChannelClosed(describe_close(self.close_reason))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.add(future)

        def done(frame: Any) -> None:
            if not future.done():
                future.set_result(frame)

        try:
            method(callback=done, **kwargs)
            return await future
        finally:
            self._waiters.discard(future)

    def _on_close(self, _channel: Channel, reason: BaseException) -> None:
        self.close_reason = reason
        error = ChannelClosed(describe_close(reason))
        for waiter in list(self._waiters):
            if not waiter.done():
                waiter.set_exception(error)
        for listener in self._close_listeners:
            listener(reason)

    def close(self) -> None:
        """Close if still open."""
        if self.raw.is_open:
            self.raw.close()


def describe_close(reason: BaseException) -> str:
    """`404 NOT_FOUND - no exchange 'x'` style text for errors and dead letters."""
    if isinstance(reason, ChannelClosedByBroker):
        return f"channel closed by broker: {reason.reply_code} {reason.reply_text}"
    return f"channel closed: {reason!r}"
