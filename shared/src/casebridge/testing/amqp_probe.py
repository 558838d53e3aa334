"""A blocking look into a real broker for tests: depths, messages, clean-up."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import pika

from casebridge.topology import Topology


@dataclass
class ProbedMessage:
    """A message read from a queue (and acked away)."""

    body: bytes
    headers: dict[str, Any]
    redelivered: bool


class AmqpProbe:
    """Opens short blocking connections; never used by product code."""

    def __init__(self, url: str) -> None:
        self._params = pika.URLParameters(url)

    def depth(self, queue: str) -> int:
        """Ready messages in a queue."""
        with self._channel() as ch:
            return int(ch.queue_declare(queue, passive=True).method.message_count)

    def drain(self, queue: str) -> list[ProbedMessage]:
        """Take every ready message out of a queue."""
        out: list[ProbedMessage] = []
        with self._channel() as ch:
            while True:
                method, props, body = ch.basic_get(queue, auto_ack=True)
                if method is None:
                    return out
                out.append(ProbedMessage(body, dict(props.headers or {}), method.redelivered))

    def wait_depth(self, queue: str, at_least: int, timeout_s: float = 20.0) -> int:
        """Poll until `queue` holds at least `at_least` messages; return the depth seen."""
        deadline = time.monotonic() + timeout_s
        depth = self.depth(queue)
        while depth < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
            depth = self.depth(queue)
        return depth

    def delete(self, topology: Topology) -> None:
        """Delete every queue and exchange of a (test) topology."""
        conn = pika.BlockingConnection(self._params)
        try:
            # A failed delete closes its channel, so each delete gets a fresh one.
            for q in topology.queues():
                with contextlib.suppress(Exception):
                    conn.channel().queue_delete(q.name)
            for ex in topology.exchanges:
                with contextlib.suppress(Exception):
                    conn.channel().exchange_delete(ex.name)
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    @contextlib.contextmanager
    def _channel(self) -> Any:
        conn = pika.BlockingConnection(self._params)
        try:
            yield conn.channel()
        finally:
            with contextlib.suppress(Exception):
                conn.close()
