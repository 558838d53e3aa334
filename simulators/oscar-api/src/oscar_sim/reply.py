"""What an endpoint decided: a status and a JSON body, or None for Rails' HTML error page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RECORD_SAVED = "Record saved."
RECORD_ERROR = "Record error. Please check OSCaR logs for details."


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any = None

    @classmethod
    def crash(cls) -> Reply:
        """An unhandled Rails exception: 500 with an HTML page (inferred, API.md §2.5)."""
        return cls(500, None)
