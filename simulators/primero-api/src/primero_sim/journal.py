"""The ordered log of writes the simulator received, for tests to assert on.

The log itself is ``simkit.journal.Journal`` with Primero's millisecond timestamps;
passwords in login bodies are redacted before they reach it, and nothing here is ever logged.
"""

from __future__ import annotations

from typing import Any

from primero_sim.clock import iso_ms
from simkit.journal import Journal


def new_journal() -> Journal:
    return Journal(time_format=iso_ms)


def redact(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("user"), dict) and "password" in body["user"]:
        return {**body, "user": {**body["user"], "password": "[redacted]"}}
    return body
