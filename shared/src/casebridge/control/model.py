"""Rows of the control store, as plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Cursor:
    """A fetch query's watermark, e.g. `primero:c1-cases` -> `2026-11-01T08:30:00.000Z`."""

    name: str
    value: str
    updated_at: datetime


@dataclass(frozen=True)
class LineageEntry:
    """Which source record became which target record, by which command, with what outcome."""

    source_system: str
    source_type: str
    source_id: str
    target: str
    operation: str
    target_key: str
    command_id: str
    correlation_id: str
    outcome: str  # loaded | superseded | dead_lettered
    at: datetime
    target_id: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One admin action: who, when, what, how many."""

    actor: str
    action: str
    at: datetime
    count: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BreakerRecord:
    """The last circuit-breaker change of one loader process (`instance`) for one target.

    `state` is `closed`, `open` or `half_open`; `since` is when the breaker entered it;
    `failures` the consecutive transient failures counted then; `last_error_class` the class of
    the failure that opened it (never a message: messages can quote records).
    """

    target: str
    instance: str
    state: str
    since: datetime
    failures: int = 0
    last_error_class: str | None = None


@dataclass(frozen=True)
class Problem:
    """A configuration problem a service reported (e.g. a 403 from the source's API).

    `reason` is for an admin and never quotes a record; `since` is the first report of this
    reason, `last_at` the latest, `count` how many reports (one per failed pass) since.
    """

    source: str
    reason: str
    since: datetime
    last_at: datetime
    count: int = 1
