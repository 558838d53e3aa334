"""The ordered log of writes the simulator received, for tests to assert on.

Passwords in login bodies are redacted; nothing here is ever logged.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Write:
    seq: int
    method: str
    path: str
    query: str
    body: Any
    time: str
    status: int | None = None
    fault: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "time": self.time,
            "status": self.status,
            "fault": self.fault,
        }


def redact(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("user"), dict) and "password" in body["user"]:
        return {**body, "user": {**body["user"], "password": "[redacted]"}}
    return body


class Journal:
    def __init__(self) -> None:
        self._writes: list[Write] = []
        self._lock = threading.Lock()

    def record(self, method: str, path: str, query: str, body: Any, time: str) -> Write:
        with self._lock:
            write = Write(len(self._writes) + 1, method, path, query, redact(body), time)
            self._writes.append(write)
            return write

    def entries(self) -> list[Write]:
        with self._lock:
            return list(self._writes)

    def clear(self) -> None:
        with self._lock:
            self._writes.clear()
