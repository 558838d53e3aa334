"""Stable text forms of a command's natural key, for the control store's rows."""

from __future__ import annotations

from casebridge import intents
from casebridge.intents import key_text
from casebridge.messages import UpsertCommand

__all__ = ["key_text", "record_key"]


def record_key(command: UpsertCommand) -> str:
    """The target record an operation writes: `operation:key`.

    Versions are tracked per operation because each operation writes its own set of fields
    (a `service_status_fill` must not be superseded by a later `case_upsert` of the same case).
    """
    return intents.record_key(command.operation, command.key)
