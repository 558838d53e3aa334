"""ASGI middleware in front of a simulated API: journals writes, then applies faults.

It sits outside the routes so a faulted request is still journaled (with the fault named),
and so faults look like what a proxy in front of the real server would do. What differs
between simulators (the bodies of injected 5xx and 429, redaction, what expiring a token
means) is passed in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simkit.clock import SimClock
from simkit.connections import ConnectionRegistry
from simkit.faults import FaultBook
from simkit.journal import WRITE_METHODS, Journal


class Instrumented(Protocol):
    """A simulator's state handle that carries the shared machinery."""

    clock: SimClock
    connections: ConnectionRegistry
    journal: Journal
    faults: FaultBook


def keep_body(_path: str, body: Any) -> Any:
    """The default redaction: journal the body as received."""
    return body


def decode_body(raw: bytes) -> Any:
    """JSON when it parses, the text otherwise, None when empty."""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", errors="replace")


async def read_body(receive: Receive) -> bytes:
    """The whole request body (ASGI may deliver it in several messages)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class InterceptionMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        control_prefix: str,
        journal: Journal,
        faults: FaultBook,
        connections: ConnectionRegistry,
        clock: SimClock,
        error_response: Callable[[int], tuple[str, bytes]],
        throttle_body: bytes,
        redact: Callable[[str, Any], Any] = keep_body,
        on_expire_token: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        """``error_response(status)`` gives the content type and body of an injected 5xx;
        ``throttle_body`` is the JSON body of an injected 429; ``redact(path, body)``
        cleans a body before it is journaled; ``on_expire_token(headers)`` expires the
        credential a request presents (without it, ``expire_token`` faults pass through).
        """
        self.app = app
        self.control_prefix = control_prefix
        self.journal = journal
        self.faults = faults
        self.connections = connections
        self.clock = clock
        self.error_response = error_response
        self.throttle_body = throttle_body
        self.redact = redact
        self.on_expire_token = on_expire_token

    @classmethod
    def around(
        cls,
        app: ASGIApp,
        sim: Instrumented,
        *,
        control_prefix: str,
        error_response: Callable[[int], tuple[str, bytes]],
        throttle_body: bytes,
        redact: Callable[[str, Any], Any] = keep_body,
        on_expire_token: Callable[[dict[str, str]], None] | None = None,
    ) -> InterceptionMiddleware:
        """The middleware wired to a simulator's own clock, connections, journal and faults."""
        return cls(
            app,
            control_prefix=control_prefix,
            journal=sim.journal,
            faults=sim.faults,
            connections=sim.connections,
            clock=sim.clock,
            error_response=error_response,
            throttle_body=throttle_body,
            redact=redact,
            on_expire_token=on_expire_token,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(self.control_prefix):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        raw = await read_body(receive)
        entry = None
        if method in WRITE_METHODS:
            body = self.redact(path, decode_body(raw))
            query = scope.get("query_string", b"").decode("latin-1")
            entry = self.journal.open(method, path, query, body, self.clock.now())

        decision = self.faults.decide(method, path)
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)
        fault = decision.fault
        if entry is not None and fault is not None and fault.kind != "expire_token":
            entry.fault = fault.kind
        if fault is not None and fault.kind == "drop":
            await self._drop(scope, receive)
            return
        if fault is not None and fault.kind in ("error", "throttle"):
            status = fault.status if fault.kind == "error" else 429
            if fault.kind == "error":
                content_type, payload = self.error_response(status)
            else:
                content_type, payload = "application/json", self.throttle_body
            headers = [(b"content-type", content_type)]
            if fault.retry_after is not None:
                headers.append((b"retry-after", str(fault.retry_after)))
            await _respond(send, status, payload, headers)
            if entry is not None:
                entry.status = status
            return
        if fault is not None and fault.kind == "expire_token" and self.on_expire_token is not None:
            self.on_expire_token(_headers(scope))
            if entry is not None:
                entry.fault = "expire_token"

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            if entry is not None and message["type"] == "http.response.start":
                entry.status = int(message["status"])
            await send(message)

        await self.app(scope, replay, capture)

    async def _drop(self, scope: Scope, receive: Receive) -> None:
        client = scope.get("client")
        peer = (str(client[0]), int(client[1])) if client else None
        if self.connections.abort(peer):
            # Wait for the server to notice, so it does not try to answer a dead socket.
            while (await receive())["type"] != "http.disconnect":
                pass


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, str]]) -> None:
    raw_headers = [(name, value.encode("latin-1")) for name, value in headers]
    raw_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
