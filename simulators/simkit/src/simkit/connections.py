"""Live client connections by peer address, so the fault layer can drop one mid-request.

ASGI gives the app no handle on the socket; uvicorn's protocol registers each transport
here (see ``simkit.serving``) and the app finds it again through ``scope["client"]``.
"""

from __future__ import annotations

import asyncio


class ConnectionRegistry:
    """Maps ``(host, port)`` of each open connection to its transport."""

    def __init__(self) -> None:
        self._transports: dict[tuple[str, int], asyncio.BaseTransport] = {}

    def add(self, peer: tuple[str, int] | None, transport: asyncio.BaseTransport) -> None:
        if peer is not None:
            self._transports[peer] = transport

    def discard(self, peer: tuple[str, int] | None) -> None:
        if peer is not None:
            self._transports.pop(peer, None)

    def abort(self, peer: tuple[str, int] | None) -> bool:
        """Reset the connection without a response; False when the peer is unknown."""
        transport = self._transports.pop(peer, None) if peer else None
        if transport is None:
            return False
        if isinstance(transport, asyncio.Transport):
            transport.abort()
        else:
            transport.close()
        return True
