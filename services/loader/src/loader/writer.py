"""What a concrete target implements: the raw write, with no delivery bookkeeping.

`GuardedTarget` wraps a `Writer` with the parts every target needs (idempotency, stale-write
guard, circuit breaker, lineage), so the oscar, primero, progres and ona targets only say how
to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from casebridge.messages import UpsertCommand


@dataclass(frozen=True)
class Written:
    """What a write produced: the target record's id when the target told it, and follow-up
    commands for other targets that only this write could compose (e.g. the Primero case id a
    DTP feedback must name). `GuardedTarget` publishes them, confirmed, before it records the
    command as applied, so a lost publish means the command (and its follow-ups) run again."""

    target_id: str | None = None
    follow_ups: tuple[UpsertCommand, ...] = ()


class Writer(Protocol):
    """One target system's writes.

    `write` raises `Superseded` when the target already holds the effect, `TransientError` for
    5xx/429/timeouts and `PermanentError` with the target's text for refusals.
    """

    name: str
    #: Operations whose call repeats a side effect (e.g. creates a referral each time): applied
    #: at most once per natural key, whatever the message id.
    once_per_key: frozenset[str]

    async def start(self) -> None:
        """Open sessions."""

    async def write(self, command: UpsertCommand) -> Written:
        """Write one command."""

    async def close(self) -> None:
        """Release sessions."""
