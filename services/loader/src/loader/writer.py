"""What a concrete target implements: the raw write, with no delivery bookkeeping.

`GuardedTarget` wraps a `Writer` with the parts every target needs (idempotency, stale-write
guard, circuit breaker, lineage), so the oscar, primero, progres and ona targets only say how
to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from casebridge.errors import PermanentError
from casebridge.messages import UpsertCommand


@dataclass(frozen=True)
class Written:
    """What a write produced: the target record's id when the target told it, and follow-up
    commands for other targets that only this write could compose (e.g. the Primero case id a
    DTP feedback must name). `GuardedTarget` publishes them, confirmed, before it records the
    command as applied, so a lost publish means the command (and its follow-ups) run again."""

    target_id: str | None = None
    follow_ups: tuple[UpsertCommand, ...] = ()
    #: Found in the target by `reconcile` after an interrupted attempt, not written now.
    reconciled: bool = False


class Writer(Protocol):
    """One target system's writes.

    `write` raises `Superseded` when the target already holds the effect, `TransientError` for
    5xx/429/timeouts and `PermanentError` with the target's text for refusals. `reconcile` and
    `left_nothing` are only asked about `once_per_key` operations.
    """

    name: str
    #: Operations whose call repeats a side effect (e.g. creates a referral each time): applied
    #: at most once per natural key, whatever the message id.
    once_per_key: frozenset[str]

    async def start(self) -> None:
        """Open sessions."""

    async def write(self, command: UpsertCommand) -> Written:
        """Write one command."""

    async def reconcile(self, command: UpsertCommand) -> Written | None:
        """What the target holds of a once-only command whose earlier attempt was interrupted
        (an intent without a completion): `Written` when the effect is there (it is recorded,
        never sent again), `None` when it is not (it is sent). Raise `PermanentError` with the
        steps for an admin when the target cannot be asked; never guess "absent"."""

    def left_nothing(self, command: UpsertCommand, error: BaseException) -> bool:
        """Whether `error` from writing `command` proves the target holds nothing of it (a
        refusal before any processing, a throttle, no connection): then the intent is dropped."""

    async def close(self) -> None:
        """Release sessions."""


class RepeatableWrites:
    """For a writer with no `once_per_key` operation: every write may simply be sent again, so
    there is never an intent to reconcile."""

    async def reconcile(self, command: UpsertCommand) -> Written | None:
        """Never asked: no operation of this writer leaves an intent."""
        raise PermanentError(f"{command.target} {command.operation} leaves no intent to reconcile")

    def left_nothing(self, command: UpsertCommand, error: BaseException) -> bool:
        """Never asked: no operation of this writer leaves an intent."""
        return False
