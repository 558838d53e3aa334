"""Serving a simulator on a socket we own: port 0 for tests, TCP_NODELAY, droppable peers.

``serve`` runs in the foreground (the console scripts); ``ThreadedServer`` and
``serve_in_thread`` run uvicorn on a daemon thread for tests. Extra keyword arguments
are uvicorn ``Config`` options that override the defaults below.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from simkit.connections import ConnectionRegistry

DEFAULT_OPTIONS: dict[str, Any] = {
    "lifespan": "off",
    "access_log": False,
    "timeout_keep_alive": 30,
}


def protocol_for(registry: ConnectionRegistry) -> type[asyncio.Protocol]:
    """An HTTP protocol class that disables Nagle and registers each connection."""

    class RegisteringProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)
            registry.add(self.client, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            registry.discard(self.client)
            super().connection_lost(exc)

    return RegisteringProtocol


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def make_server(
    app: Any,
    registry: ConnectionRegistry | None = None,
    log_level: str = "warning",
    **options: Any,
) -> uvicorn.Server:
    """uvicorn with the registering protocol; ``registry`` None means nobody drops peers."""
    settings = {**DEFAULT_OPTIONS, **options}
    config = uvicorn.Config(
        app, http=protocol_for(registry or ConnectionRegistry()), log_level=log_level, **settings
    )
    return uvicorn.Server(config)


def serve(
    app: Any,
    registry: ConnectionRegistry | None,
    host: str,
    port: int,
    log_level: str,
    **options: Any,
) -> None:
    """Run in the foreground until SIGINT/SIGTERM (the console scripts)."""
    sock = bind(host, port)
    make_server(app, registry, log_level, **options).run(sockets=[sock])


class ThreadedServer:
    """uvicorn in a daemon thread on an already-bound socket (port 0 gives a free port)."""

    def __init__(
        self,
        app: Any,
        registry: ConnectionRegistry | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str = "simulator",
        **options: Any,
    ) -> None:
        self.name = name
        self.socket = bind(host, port)
        self.host, self.port = self.socket.getsockname()[:2]
        self.server = make_server(app, registry, **options)
        self._thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.socket]},
            name=f"sim-{self.port}",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.socket.close()
                raise RuntimeError(f"{self.name} server did not start")
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)
        self.socket.close()


@contextlib.contextmanager
def serve_in_thread(
    app: Any,
    registry: ConnectionRegistry | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Any,
) -> Iterator[str]:
    """Serve on a background thread; yields the base URL and stops cleanly on exit."""
    server = ThreadedServer(app, registry, host, port, **options)
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()
