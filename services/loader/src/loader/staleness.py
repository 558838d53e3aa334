"""The stale-write guard: never overwrite newer target data with an older command.

Commands carry the source record's `updated_at`; the version last applied to each target record
is kept in the control store. A strictly older command is `Superseded`; an equal one is applied
(one source version yields several commands, and re-applying an upsert is harmless). A command
without a source version (a source that exposes none, e.g. OSCaR clients) is not guarded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from casebridge.control import ControlStore
from casebridge.errors import Superseded
from casebridge.messages import UpsertCommand
from loader.keys import record_key


class StaleWriteGuard:
    """Applied versions of one target's records."""

    def __init__(self, store: ControlStore, target: str) -> None:
        self._store = store
        self._target = target

    async def check(self, command: UpsertCommand) -> None:
        """Raise `Superseded` when the target record already holds a newer source version."""
        self.decide(command, await self.lookup(command))

    async def lookup(self, command: UpsertCommand) -> datetime | None:
        """The version applied to the command's record (None when unguarded or none yet)."""
        if command.source.updated_at is None:
            return None
        return await self._store.applied_version(self._target, record_key(command))

    @staticmethod
    def decide(command: UpsertCommand, applied: datetime | None) -> None:
        """Raise `Superseded` when `applied` (from `lookup`) is newer than the command."""
        version = command.source.updated_at
        if version is None:
            return
        applied = aware(applied)
        version = aware(version)
        if applied is not None and version < applied:
            raise Superseded(
                f"stale: source version {version.isoformat()} is older than the applied"
                f" {applied.isoformat()}"
            )

    async def record(self, command: UpsertCommand) -> None:
        """Remember the version just applied (the store never moves it backwards)."""
        if command.source.updated_at is not None:
            await self._store.set_applied_version(
                self._target, record_key(command), command.source.updated_at
            )


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
def aware(moment: datetime | None) -> datetime | None:
    """`moment` as an aware UTC time: SQLite hands back naive UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
