"""The control-store rows that make a once-only write happen once: their names, in one place.

A loader records, per target stage (`loader-<target>`), the message ids it applied and, for
operations that repeat a side effect on every call (an OSCaR upsert creating a referral, a DTP
push), the natural key: `key:<digest>` once done, `intent:<digest>` just before the request is
sent. The admin CLI needs the same names to let an operator re-send a write that an interrupted
attempt may or may not have made (`casebridge dlq replay --resend`), so they live here, shared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def loader_stage(target: str) -> str:
    """The processed-id stage of the loader of `target`."""
    return f"loader-{target}"


def key_text(key: Mapping[str, str]) -> str:
    """`a=1&b=2`, sorted by field, so the same key always gives the same text."""
    return "&".join(f"{k}={key[k]}" for k in sorted(key))


def record_key(operation: str, key: Mapping[str, str]) -> str:
    """The target record an operation writes: `operation:key`."""
    return f"{operation}:{key_text(key)}"


def _digest(operation: str, key: Mapping[str, str]) -> str:
    # Hashed: an OSCaR upsert's key text (three UUIDs) is longer than the 100 characters of the
    # control store's message id column, which PostgreSQL enforces.
    return hashlib.sha256(record_key(operation, key).encode()).hexdigest()


def done_id(operation: str, key: Mapping[str, str]) -> str:
    """The row saying a once-only write of this key was applied."""
    return f"key:{_digest(operation, key)}"


def intent_id(operation: str, key: Mapping[str, str]) -> str:
    """The row saying a once-only write of this key was about to be sent."""
    return f"intent:{_digest(operation, key)}"
