"""Deterministic identifiers, so a re-fetch of the same record version is a duplicate, not news."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

#: Namespace of every casebridge uuid5; fixed forever, changing it would break de-duplication.
CASEBRIDGE_NAMESPACE = uuid.UUID("6f0c8a4e-4b7e-5b1e-9a51-0d3c6a1f7c2b")


_NAMESPACE_BYTES = CASEBRIDGE_NAMESPACE.bytes


def deterministic_id(*parts: object) -> str:
    """A uuid5 over the parts; datetimes are normalised to ISO-8601 so equal instants agree.

    Computed as RFC 4122 specifies (SHA-1 of namespace and name, version and variant bits set)
    without building `uuid.UUID` objects: it runs for every message, and `uuid.uuid5` cost
    several microseconds of the hop. A test pins it to `uuid.uuid5`.
    """
    text = "\x1f".join([p if type(p) is str else _canonical(p) for p in parts])
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + text.encode()).digest()[:16])  # noqa: S324
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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
