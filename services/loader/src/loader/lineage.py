"""Lineage rows: which source record became which target record, by which command."""

from __future__ import annotations

from datetime import UTC, datetime

from casebridge.control import LineageEntry
from casebridge.messages import UpsertCommand
from loader.keys import key_text

LOADED = "loaded"
SUPERSEDED = "superseded"
#: Loaded by an interrupted earlier attempt: the target was asked, and already held it.
RECONCILED = "reconciled"


def lineage_entry(
    command: UpsertCommand, outcome: str, target_id: str | None = None
) -> LineageEntry:
    """One row for `command` with `outcome` (loaded | reconciled | superseded)."""
    return LineageEntry(
        source_system=command.source.system,
        source_type=command.source.record_type,
        source_id=command.source.record_id,
        target=command.target,
        operation=command.operation,
        target_key=key_text(command.key),
        command_id=command.message_id,
        correlation_id=command.correlation_id,
        outcome=outcome,
        at=datetime.now(UTC),
        target_id=target_id,
    )
