"""Fixtures: a fresh DTP simulator per test, and a webhook receiver standing in for casebridge."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from dtp_sim.testing import RunningDtp, running_dtp


@pytest.fixture
def dtp() -> Iterator[RunningDtp]:
    with running_dtp() as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@dataclass
class Receiver:
    """Records every POST; answers ``status`` (200 with an OpenFn-style work order)."""

    url: str = ""
    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length) or b"null")
            state.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            payload = json.dumps({"work_order_id": f"wo-{len(state.received)}"}).encode()
            self.send_response(state.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/i/trigger-uuid"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
