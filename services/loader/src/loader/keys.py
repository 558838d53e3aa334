"""Stable text forms of a command's natural key, for the control store's rows."""

from __future__ import annotations

from casebridge.messages import UpsertCommand


def key_text(key: dict[str, str]) -> str:
    """`a=1&b=2`, sorted by field, so the same key always gives the same text."""
    return "&".join(f"{k}={key[k]}" for k in sorted(key))


def record_key(command: UpsertCommand) -> str:
    """The target record an operation writes: `operation:key`.

    Versions are tracked per operation because each operation writes its own set of fields
    (a `service_status_fill` must not be superseded by a later `case_upsert` of the same case).
    """
    return f"{command.operation}:{key_text(command.key)}"
