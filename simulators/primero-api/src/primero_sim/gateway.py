"""The outermost ASGI layer: journal of writes, nginx's limits, fault injection, config lock.

It sits outside FastAPI so a ``drop`` fault can reach uvicorn's transport and close the
connection without any response, like a failing proxy would. Order per request: the write is
journaled; nginx's per-IP rate and concurrency limits apply (see ``limits``), so a request
they refuse never reaches the faults or the API; then the faults; then the API.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from primero_sim import SIM_PREFIX
from primero_sim.errors import WWW_AUTHENTICATE, ApiError
from primero_sim.journal import redact
from primero_sim.limits import REFUSED_PAGE
from primero_sim.responses import OrjsonResponse
from primero_sim.state import SimState
from simkit.faults import Fault
from simkit.interception import decode_body, read_body
from simkit.journal import WRITE_METHODS, JournalEntry


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # block like a live connection until cancelled
        return {"type": "http.disconnect"}

    return receive


class Gateway:
    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(SIM_PREFIX):
            await self.app(scope, receive, send)
            return
        state = self.state
        method, path = scope["method"], scope["path"]
        write: JournalEntry | None = None
        if method in WRITE_METHODS and path.startswith("/api/"):
            body = await read_body(receive)
            receive = _replay(body)
            query = scope.get("query_string", b"").decode("latin-1")
            write = state.journal.open(
                method, path, query, redact(decode_body(body)), state.clock.now()
            )
        limits = state.limits
        if not limits.enabled:
            await self._serve(scope, receive, send, write, send)
            return
        client = scope.get("client")
        ip = str(client[0]) if client else "-"
        hold = limits.admit_rate(ip)
        if hold is None:
            await self._refuse("limit_req", scope, receive, send, write)
            return
        if hold:
            await asyncio.sleep(hold)
        if not limits.enter(ip):
            await self._refuse("limit_conn", scope, receive, send, write)
            return
        left = False

        def leave() -> None:
            nonlocal left
            if not left:
                left = True
                limits.leave(ip)

        async def counted_send(message: Message) -> None:
            # Released as the last byte goes out, like nginx: a client that sends its next
            # request as soon as it has read an answer must not find its own old one counted.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                leave()
            await send(message)

        try:
            await self._serve(scope, receive, counted_send, write, send)
        finally:
            leave()

    async def _refuse(
        self, why: str, scope: Scope, receive: Receive, send: Send, write: JournalEntry | None
    ) -> None:
        """nginx's own 503 page: HTML, no Retry-After."""
        if write is not None:
            write.fault = why
        response = Response(REFUSED_PAGE, 503, media_type="text/html")
        await self._send(response, scope, receive, send, write)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, write: JournalEntry | None, raw: Send
    ) -> None:
        """Past the proxy: the faults, the configuration lock, then the API (``raw``: uvicorn's
        own ``send``, whose transport a ``drop`` aborts)."""
        state = self.state
        method, path = scope["method"], scope["path"]
        decision = state.faults.decide(method, path)
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)
        outcome = decision.fault
        if outcome is not None:
            if write is not None:
                write.fault = outcome.kind
            await self._inject(outcome, scope, receive, send, write, raw)
            return
        if state.config_locked and path.startswith("/api/v2"):
            seconds = str(state.config_locked)
            error = ApiError(503, "Service Unavailable", f"Retry-After: {seconds}")
            response: Response = OrjsonResponse(
                error.body(path), 503, headers={"Retry-After": seconds}
            )
            await self._send(response, scope, receive, send, write)
            return

        async def recording_send(message: Message) -> None:
            if write is not None and message["type"] == "http.response.start":
                write.status = message["status"]
            await send(message)

        await self.app(scope, receive, recording_send)

    async def _send(
        self,
        response: Response,
        scope: Scope,
        receive: Receive,
        send: Send,
        write: JournalEntry | None,
    ) -> None:
        if write is not None:
            write.status = response.status_code
        await response(scope, receive, send)

    async def _inject(
        self,
        fault: Fault,
        scope: Scope,
        receive: Receive,
        send: Send,
        write: JournalEntry | None,
        raw: Send,
    ) -> None:
        path = scope["path"]
        response: Response
        if fault.kind == "drop":
            if write is not None:
                write.status = None
            await _drop(raw)
            return
        if fault.kind == "throttle":
            response = PlainTextResponse(
                "Retry later\n", 429, headers={"Retry-After": str(fault.retry_after or 1)}
            )
        elif fault.kind == "expire_token":
            request = Request(scope)
            message = self.state.auth.expire_credential(request.headers, request.cookies)
            response = OrjsonResponse(
                {"error": message}, 401, headers={"WWW-Authenticate": WWW_AUTHENTICATE}
            )
        elif fault.status == 502:
            response = Response(
                b"<html><body><h1>502 Bad Gateway</h1></body></html>", 502, media_type="text/html"
            )
        elif fault.status == 503 and fault.retry_after is not None:
            seconds = str(fault.retry_after)
            error = ApiError(503, "Service Unavailable", f"Retry-After: {seconds}")
            response = OrjsonResponse(error.body(path), 503, headers={"Retry-After": seconds})
        elif fault.status == 503:
            response = OrjsonResponse(ApiError(503, "Service Unavailable").body(path), 503)
        elif fault.status == 422:
            response = OrjsonResponse(ApiError(422, "Unprocessable Entity").body(path), 422)
        else:
            response = OrjsonResponse(ApiError(500, "Internal Server Error").body(path), 500)
        await self._send(response, scope, receive, send, write)


async def _drop(send: Send) -> None:
    """Close the TCP connection with no response, via uvicorn's transport."""
    cycle: Any = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("simulated dropped connection")
    transport.abort()
    if hasattr(cycle, "disconnected"):
        cycle.disconnected = True  # so uvicorn does not try to write a 500
    await asyncio.sleep(0)
