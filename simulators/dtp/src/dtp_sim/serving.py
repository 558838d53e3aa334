"""Serving the simulator on a socket we own: port 0 for tests, TCP_NODELAY, droppable peers."""

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

from dtp_sim.connections import ConnectionRegistry


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
    app: Any, registry: ConnectionRegistry, log_level: str = "warning"
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        http=protocol_for(registry),
        lifespan="off",
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=30,
    )
    return uvicorn.Server(config)


def serve(app: Any, registry: ConnectionRegistry, host: str, port: int, log_level: str) -> None:
    """Run in the foreground until SIGINT/SIGTERM (the console scripts)."""
    sock = bind(host, port)
    make_server(app, registry, log_level).run(sockets=[sock])


@contextlib.contextmanager
def serve_in_thread(
    app: Any, registry: ConnectionRegistry, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Serve on a background thread; yields the base URL and stops cleanly on exit."""
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    server = make_server(app, registry)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sim-{bound_port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("simulator server did not start")
        time.sleep(0.005)
    url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    try:
        yield f"http://{url_host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
