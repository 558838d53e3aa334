"""At most once per command: processed message ids (and, where needed, natural keys).

Redelivery and replays bring the same message id again; a re-fetched newer version of a source
record brings a new id with the same key. For most operations the second write is harmless
(upsert by key, merge), but some repeat a side effect on every call (an OSCaR upsert with
`is_referred` creates a referral each time); those are recorded by natural key as well.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from casebridge.control import ControlStore
from casebridge.errors import Superseded
from casebridge.messages import UpsertCommand
from loader.keys import record_key


class ProcessedCommands:
    """The control store's processed-id rows of one loader stage."""

    def __init__(self, store: ControlStore, stage: str, once_per_key: Iterable[str]) -> None:
        self._store = store
        self.stage = stage
        self._once_per_key = frozenset(once_per_key)

    async def check(self, command: UpsertCommand) -> None:
        """Raise `Superseded` when this command (or its once-only key) was already applied."""
        self.decide(command, await self.lookup(command))

    async def lookup(self, command: UpsertCommand) -> set[str]:
        """The command's ids already recorded (the read half of `check`)."""
        return await self._store.seen(self.stage, self._ids(command))

    @staticmethod
    def decide(command: UpsertCommand, seen: set[str]) -> None:
        """Raise `Superseded` when `seen` (from `lookup`) holds any of the command's ids."""
        if command.message_id in seen:
            raise Superseded("already applied")
        if seen:
            raise Superseded(f"{command.operation} already sent for this key")

    async def remember(self, command: UpsertCommand) -> None:
        """Record the command (and its once-only key) as applied."""
        await self._store.remember(self.stage, self._ids(command))

    def _ids(self, command: UpsertCommand) -> list[str]:
        ids = [command.message_id]
        if command.operation in self._once_per_key:
            # Hashed: an OSCaR upsert's key text (three UUIDs) is longer than the 100 characters
            # of the control store's message id column, which PostgreSQL enforces.
            digest = hashlib.sha256(record_key(command).encode()).hexdigest()
            ids.append(f"key:{digest}")
        return ids
