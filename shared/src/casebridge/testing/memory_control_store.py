"""A ControlStore in a dict, for unit tests that need cursors and seen ids but no database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from casebridge.control.model import AuditEntry, BreakerRecord, Cursor, LineageEntry, Problem
from casebridge.control.store import ControlStore


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryControlStore(ControlStore):
    """Same contract as the SQL store, nothing durable; `cursor_writes` records every advance."""

    def __init__(self) -> None:
        self.cursors: dict[str, Cursor] = {}
        self.processed: dict[str, set[str]] = {}
        self.versions: dict[tuple[str, str], datetime] = {}
        self.lineage: list[LineageEntry] = []
        self.audits: list[AuditEntry] = []
        self.cursor_writes: list[tuple[str, str]] = []
        self.breakers: dict[tuple[str, str], BreakerRecord] = {}
        #: Every breaker change written, in order (what a test asserts "only changes" on).
        self.breaker_writes: list[BreakerRecord] = []
        self.problems: dict[str, Problem] = {}
        self.own: dict[tuple[str, str], datetime] = {}
        self.closed = False

    async def get_cursor(self, name: str) -> Cursor | None:
        return self.cursors.get(name)

    async def set_cursor(self, name: str, value: str) -> None:
        self.cursors[name] = Cursor(name, value, _now())
        self.cursor_writes.append((name, value))

    async def delete_cursor(self, name: str) -> None:
        self.cursors.pop(name, None)

    async def list_cursors(self) -> list[Cursor]:
        return [self.cursors[name] for name in sorted(self.cursors)]

    async def seen(self, stage: str, message_ids: Iterable[str]) -> set[str]:
        known = self.processed.get(stage, set())
        return {m for m in message_ids if m in known}

    async def remember(self, stage: str, message_ids: Iterable[str]) -> None:
        self.processed.setdefault(stage, set()).update(message_ids)

    async def forget(self, stage: str, message_ids: Iterable[str]) -> None:
        self.processed.get(stage, set()).difference_update(message_ids)

    async def applied_version(self, target: str, key: str) -> datetime | None:
        return self.versions.get((target, key))

    async def set_applied_version(self, target: str, key: str, version: datetime) -> None:
        current = self.versions.get((target, key))
        if current is None or version > current:
            self.versions[(target, key)] = version

    async def record_lineage(self, entries: Iterable[LineageEntry]) -> None:
        self.lineage.extend(entries)

    async def lineage_of(self, source_system: str, source_id: str) -> list[LineageEntry]:
        rows = [
            e for e in self.lineage if e.source_system == source_system and e.source_id == source_id
        ]
        return sorted(rows, key=lambda e: e.at)

    async def audit(self, entry: AuditEntry) -> None:
        self.audits.append(entry)

    async def audit_log(self, since: datetime | None = None) -> list[AuditEntry]:
        rows = [a for a in self.audits if since is None or a.at >= since]
        return sorted(rows, key=lambda a: a.at)

    async def record_breaker(self, record: BreakerRecord) -> None:
        self.breakers[(record.target, record.instance)] = record
        self.breaker_writes.append(record)

    async def forget_breaker(self, target: str, instance: str) -> None:
        self.breakers.pop((target, instance), None)

    async def list_breakers(self) -> list[BreakerRecord]:
        return [self.breakers[k] for k in sorted(self.breakers)]

    async def report_problem(self, source: str, reason: str) -> bool:
        found = self.problems.get(source)
        now = _now()
        if found is not None and found.reason == reason:
            self.problems[source] = Problem(source, reason, found.since, now, found.count + 1)
            return False
        self.problems[source] = Problem(source, reason, now, now, 1)
        return True

    async def clear_problem(self, source: str) -> None:
        self.problems.pop(source, None)

    async def list_problems(self) -> list[Problem]:
        return [self.problems[k] for k in sorted(self.problems)]

    async def record_own_write(self, system: str, record_id: str, version: datetime) -> None:
        key = (system, record_id)
        if key not in self.own or self.own[key] < version:
            self.own[key] = version

    async def own_writes(self, system: str, record_ids: Iterable[str]) -> dict[str, datetime]:
        return {i: self.own[(system, i)] for i in record_ids if (system, i) in self.own}

    async def close(self) -> None:
        self.closed = True
