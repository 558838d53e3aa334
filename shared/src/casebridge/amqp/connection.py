"""One AMQP connection that reconnects by itself and tells its users when it is back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pika
import structlog
from pika.adapters.asyncio_connection import AsyncioConnection

from casebridge.amqp.channel import AsyncChannel
from casebridge.amqp.wire import FastConnection
from casebridge.background import BackgroundTasks
from casebridge.errors import BrokerUnavailable

log = structlog.get_logger(__name__)

ReconnectListener = Callable[[], Awaitable[None]]


class AmqpConnection:
    """Owns the pika connection: connect with retries, reconnect with backoff, open channels.

    Users (publisher, consumers) register `on_reconnect` listeners to re-open their channels and
    re-publish or re-subscribe; they never hold a connection themselves.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "casebridge",
        connect_timeout_s: float = 30.0,
        max_backoff_s: float = 5.0,
    ) -> None:
        self._params = pika.URLParameters(url)
        self._params.client_properties = {"connection_name": name}
        self._connect_timeout_s = connect_timeout_s
        self._max_backoff_s = max_backoff_s
        self._conn: AsyncioConnection | None = None
        self._ready = asyncio.Event()
        self._closing = False
        self._listeners: list[ReconnectListener] = []
        self._background = BackgroundTasks("amqp-connection")

    @property
    def is_ready(self) -> bool:
        """True while the connection is open."""
        return self._ready.is_set()

    def on_reconnect(self, listener: ReconnectListener) -> None:
        """Await `listener()` after every successful re-connection."""
        self._listeners.append(listener)

    async def connect(self) -> None:
        """Connect, retrying with backoff up to the connect timeout."""
        await self._connect_with_retries(self._connect_timeout_s)

    async def wait_ready(self, timeout_s: float) -> None:
        """Wait for an open connection; raise BrokerUnavailable after `timeout_s`."""
        if self._ready.is_set():
            return
        try:
            await asyncio.wait_for(self._ready.wait(), timeout_s)
        except TimeoutError:
            raise BrokerUnavailable(f"no broker connection within {timeout_s:.0f}s") from None

    async def channel(self) -> AsyncChannel:
        """Open a new channel on the current connection."""
        if self._conn is None or not self._ready.is_set():
            raise BrokerUnavailable("not connected to the broker")
        future: asyncio.Future[AsyncChannel] = asyncio.get_running_loop().create_future()

        def opened(ch: pika.channel.Channel) -> None:
            if not future.done():
                future.set_result(AsyncChannel(ch))

        self._conn.channel(on_open_callback=opened)
        return await asyncio.wait_for(future, 10)

    async def close(self) -> None:
        """Close for good; no reconnect follows."""
        self._closing = True
        await self._background.cancel_all()
        conn = self._conn
        if conn is not None and not (conn.is_closed or conn.is_closing):
            closed = asyncio.get_running_loop().create_future()
            conn.add_on_close_callback(
                lambda *_: closed.done() or closed.set_result(None)  # type: ignore[func-returns-value]
            )
            conn.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed, 5)
        self._ready.clear()

    async def _connect_with_retries(self, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        backoff = 0.2
        while True:
            try:
                await self._open_once()
                return
            except Exception as exc:
                if self._closing or loop.time() + backoff > deadline:
                    raise BrokerUnavailable(f"cannot connect to the broker: {exc!r}") from None
                log.warning("broker_connect_failed", error=repr(exc), retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)

    async def _open_once(self) -> None:
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[None] = loop.create_future()

        def on_open(_conn: AsyncioConnection) -> None:
            if not opened.done():
                opened.set_result(None)

        def on_open_error(_conn: AsyncioConnection, err: BaseException | str) -> None:
            if not opened.done():
                opened.set_exception(
                    err if isinstance(err, BaseException) else ConnectionError(err)
                )

        conn = FastConnection(
            self._params,
            on_open_callback=on_open,
            on_open_error_callback=on_open_error,
            on_close_callback=self._on_closed,
            custom_ioloop=loop,
        )
        self._conn = conn
        await asyncio.wait_for(opened, 15)
        self._ready.set()

    def _on_closed(self, conn: AsyncioConnection, reason: BaseException) -> None:
        if conn is not self._conn:
            return
        was_ready = self._ready.is_set()
        self._ready.clear()
        if self._closing or not was_ready:
            return
        log.warning("broker_connection_lost", reason=repr(reason))
        self._background.spawn(self._reconnect(), name="reconnect")

    async def _reconnect(self) -> None:
        while not self._closing:
            try:
                await self._connect_with_retries(timeout_s=3600)
            except BrokerUnavailable:
                continue
            log.info("broker_reconnected")
            for listener in self._listeners:
                try:
                    await listener()
                except Exception as exc:  # a listener failing must not stop the others
                    log.error("reconnect_listener_failed", error=repr(exc))
            return
