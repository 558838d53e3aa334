"""Running the app under uvicorn, in the foreground or in a background thread.

The listening socket is created here with TCP_NODELAY (accepted sockets inherit
it on Linux, and asyncio sets it too), so no Nagle/delayed-ACK stalls.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from primero_sim.app import create_app
from primero_sim.state import SimState


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def make_server(
    state: SimState, host: str, port: int, log_level: str = "warning"
) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(state),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # query strings may carry names; never log them
        lifespan="off",
        http="httptools",
        loop="asyncio",
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )
    return uvicorn.Server(config)


class ThreadedServer:
    """uvicorn in a daemon thread on an already-bound socket (port 0 gives a free port)."""

    def __init__(self, state: SimState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.socket = listening_socket(host, port)
        self.host, self.port = self.socket.getsockname()[:2]
        self.server = make_server(state, host, self.port)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
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
                raise RuntimeError("primero simulator did not start")
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)
        self.socket.close()
