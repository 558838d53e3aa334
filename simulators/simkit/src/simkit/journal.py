"""The ordered record of every write a simulator received, for tests to assert on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def isoformat(moment: datetime) -> str:
    return moment.isoformat()


@dataclass(slots=True)
class JournalEntry:
    seq: int
    method: str
    path: str
    query: str
    body: Any
    time: str
    status: int | None = None
    fault: str | None = None

    def as_dict(self) -> dict[str, Any]:
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


class Journal:
    """Append-only in arrival order; the status is filled in when the response starts.

    ``time_format`` renders the arrival instant as the simulated API would print it.
    Safe to read from the test thread while the server thread appends.
    """

    def __init__(self, time_format: Callable[[datetime], str] = isoformat) -> None:
        self._entries: list[JournalEntry] = []
        self._time_format = time_format
        self._lock = threading.Lock()

    def open(
        self, method: str, path: str, query: str, body: Any, received_at: datetime
    ) -> JournalEntry:
        time = self._time_format(received_at)
        with self._lock:
            entry = JournalEntry(len(self._entries) + 1, method, path, query, body, time)
            self._entries.append(entry)
        return entry

    def entries(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
