"""Running the app under uvicorn, in the foreground or in a background thread.

The socket, the thread and TCP_NODELAY come from ``simkit.serving``; these are the
uvicorn options that differ from simkit's defaults (no Server/Date headers, no proxy
headers, uvicorn's own keep-alive).
"""

from __future__ import annotations

from typing import Any

from primero_sim.app import create_app
from primero_sim.state import SimState
from simkit.serving import ThreadedServer, serve

OPTIONS: dict[str, Any] = {
    "loop": "asyncio",
    "proxy_headers": False,
    "server_header": False,
    "date_header": False,
    "timeout_keep_alive": 5,
}


def threaded_server(state: SimState, host: str = "127.0.0.1", port: int = 0) -> ThreadedServer:
    """uvicorn in a daemon thread on an already-bound socket (port 0 gives a free port)."""
    return ThreadedServer(create_app(state), None, host, port, name="primero simulator", **OPTIONS)


def serve_foreground(state: SimState, host: str, port: int, log_level: str) -> None:
    """Run until SIGINT/SIGTERM (the console script)."""
    serve(create_app(state), None, host, port, log_level, **OPTIONS)
