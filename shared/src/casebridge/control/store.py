"""What services need from the control store; the SQL implementation lives beside it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from casebridge.control.model import AuditEntry, BreakerRecord, Cursor, LineageEntry, Problem


class ControlStore(Protocol):
    """Durable state of a casebridge deployment (PostgreSQL, or SQLite for local mode)."""

    async def get_cursor(self, name: str) -> Cursor | None:
        """The cursor, or None before the first pass."""

    async def set_cursor(self, name: str, value: str) -> None:
        """Advance (or set) a cursor; callers advance only after every record was confirmed."""

    async def delete_cursor(self, name: str) -> None:
        """Forget a cursor (admin reset: the next pass starts from the configured start)."""

    async def list_cursors(self) -> list[Cursor]:
        """Every cursor, by name."""

    async def seen(self, stage: str, message_ids: Iterable[str]) -> set[str]:
        """Which of these message ids `stage` has already processed (batched lookup)."""

    async def remember(self, stage: str, message_ids: Iterable[str]) -> None:
        """Record message ids as processed by `stage` (idempotent)."""

    async def forget(self, stage: str, message_ids: Iterable[str]) -> None:
        """Drop message ids of `stage` (an intent proven void: the target did nothing)."""

    async def applied_version(self, target: str, key: str) -> datetime | None:
        """Source version last applied to a target record (the stale-write guard reads it)."""

    async def set_applied_version(self, target: str, key: str, version: datetime) -> None:
        """Record the source version just applied (never moves backwards)."""

    async def record_lineage(self, entries: Iterable[LineageEntry]) -> None:
        """Append lineage rows."""

    async def lineage_of(self, source_system: str, source_id: str) -> list[LineageEntry]:
        """Everything that happened to one source record, oldest first."""

    async def audit(self, entry: AuditEntry) -> None:
        """Append an audit row."""

    async def audit_log(self, since: datetime | None = None) -> list[AuditEntry]:
        """Audit rows, oldest first."""

    async def record_breaker(self, record: BreakerRecord) -> None:
        """Store a loader process's breaker change (one row per target and instance)."""

    async def forget_breaker(self, target: str, instance: str) -> None:
        """Drop a loader process's breaker row (the process stops cleanly)."""

    async def list_breakers(self) -> list[BreakerRecord]:
        """Every breaker row, by target then instance."""

    async def report_problem(self, source: str, reason: str) -> bool:
        """Record a configuration problem; True when it is new (not already reported as is)."""

    async def clear_problem(self, source: str) -> None:
        """The source works again: forget its problem."""

    async def list_problems(self) -> list[Problem]:
        """Every open problem, by source."""

    async def record_own_write(self, system: str, record_id: str, version: datetime) -> None:
        """The version casebridge's own write left on a source record (newest kept)."""

    async def own_writes(self, system: str, record_ids: Iterable[str]) -> dict[str, datetime]:
        """The recorded own-write versions of these records (absent ids have none)."""

    async def close(self) -> None:
        """Release connections."""
