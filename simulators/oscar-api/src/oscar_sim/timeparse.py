"""A forgiving stand-in for Ruby's ``Time.parse`` on the formats OpenFn actually sends.

``'YYYY-MM-DD 00:00:00'`` (Flow 0/2), full ISO timestamps with ``Z`` (the Primero cursor),
and bare dates. Naive values are taken as UTC. Anything else is unparseable (OSCaR: 500).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    if raw.endswith(" UTC"):
        raw = raw[:-4] + "+00:00"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
