"""The ordered record of every write the simulator received, for tests to assert on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class JournalEntry:
    seq: int
    method: str
    path: str
    query: str
    body: Any
    received_at: datetime
    status: int | None = None
    fault: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "time": self.received_at.isoformat(),
            "status": self.status,
            "fault": self.fault,
        }


class Journal:
    """Append-only in arrival order; the status is filled in when the response starts."""

    def __init__(self) -> None:
        self.entries: list[JournalEntry] = []

    def open(
        self, method: str, path: str, query: str, body: Any, received_at: datetime
    ) -> JournalEntry:
        entry = JournalEntry(len(self.entries) + 1, method, path, query, body, received_at)
        self.entries.append(entry)
        return entry

    def clear(self) -> None:
        self.entries.clear()
