"""At most once per command: processed message ids (and, where needed, natural keys).

Redelivery and replays bring the same message id again; a re-fetched newer version of a source
record brings a new id with the same key. For most operations the second write is harmless
(upsert by key, merge), but some repeat a side effect on every call (an OSCaR upsert with
`is_referred` creates a referral each time); those are recorded by natural key as well.

Those once-only operations also leave an *intent* (`intent:<key digest>`) before the write is
sent, durably: a loader killed, or a control store lost, between the target's answer and the
completion record leaves an intent without a completion, and the redelivered command asks the
target what it holds instead of writing blind (`GuardedTarget`).
"""

from __future__ import annotations

from collections.abc import Iterable

from casebridge import intents
from casebridge.control import ControlStore
from casebridge.errors import Superseded
from casebridge.messages import UpsertCommand


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
        return await self._store.seen(self.stage, self._lookup_ids(command))

    def decide(self, command: UpsertCommand, seen: set[str]) -> bool:
        """Raise `Superseded` when `seen` (from `lookup`) holds any of the command's completion
        ids; return whether an earlier attempt left an intent without a completion."""
        if command.message_id in seen:
            raise Superseded("already applied")
        intent = self.intent_id(command)
        if seen - {intent}:
            raise Superseded(f"{command.operation} already sent for this key")
        return intent in seen

    def needs_intent(self, command: UpsertCommand) -> bool:
        """Whether the command's write repeats a side effect (so an intent precedes it)."""
        return command.operation in self._once_per_key

    def intent_id(self, command: UpsertCommand) -> str:
        """The intent row of a once-only command (`""` for the others, never stored)."""
        return (
            intents.intent_id(command.operation, command.key) if self.needs_intent(command) else ""
        )

    async def record_intent(self, command: UpsertCommand) -> None:
        """Durably note that the write is about to be sent (before any byte leaves)."""
        await self._store.remember(self.stage, [self.intent_id(command)])

    async def drop_intent(self, command: UpsertCommand) -> None:
        """The target proved it holds nothing of the write: a later attempt may send it."""
        await self._store.forget(self.stage, [self.intent_id(command)])

    async def remember(self, command: UpsertCommand) -> None:
        """Record the command (and its once-only key) as applied."""
        await self._store.remember(self.stage, self._ids(command))

    def _ids(self, command: UpsertCommand) -> list[str]:
        ids = [command.message_id]
        if self.needs_intent(command):
            ids.append(intents.done_id(command.operation, command.key))
        return ids

    def _lookup_ids(self, command: UpsertCommand) -> list[str]:
        ids = self._ids(command)
        if self.needs_intent(command):
            ids.append(self.intent_id(command))
        return ids
