"""Deterministic identifiers, so a re-fetch of the same record version is a duplicate, not news."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

#: Namespace of every casebridge uuid5; fixed forever, changing it would break de-duplication.
CASEBRIDGE_NAMESPACE = uuid.UUID("6f0c8a4e-4b7e-5b1e-9a51-0d3c6a1f7c2b")


def deterministic_id(*parts: object) -> str:
    """A uuid5 over the parts; datetimes are normalised to ISO-8601 so equal instants agree."""
    text = "\x1f".join(_canonical(p) for p in parts)
    return str(uuid.uuid5(CASEBRIDGE_NAMESPACE, text))


def new_id() -> str:
    """A random id for things that are not derived from a source record (receipts, replays)."""
    return str(uuid.uuid4())


def _canonical(part: object) -> str:
    if part is None:
        return ""
    if isinstance(part, datetime):
        # Aware times are shown in UTC, so one instant written with any offset gives one id.
        return (part.astimezone(UTC) if part.tzinfo is not None else part).isoformat()
    return str(part)
