"""Recording the version of a Primero case that casebridge's own writes produced (echo).

Primero re-saves the case on every transition save (`transition.rb` `after_save
:save_record`): the C2 and P4 referral PATCHes (and every case PATCH: C0, C2's upsert, fill and
service rows) move the case's `last_updated_at`, and the next C1/P2/P3 pass would publish the
case as new work. After its writes the loader records the version its last write left
(`ControlStore.record_own_write`), and fetcher-primero skips the case while it is still at
exactly that version.

Never suppress someone else's change: the version is recorded only when the case, read again
after the writes, is still at the version our last write answered, differs from the case read
before the writes only where our writes act (the fields sent, the service rows written or
decided, the assigned users, the update stamps), and no other referral of the case changed. A
person's edit in between (or after) fails one of these checks, nothing is recorded, and the
case is published as usual; a later edit always has a newer `last_updated_at` anyway. This
costs up to four GETs per command (case and referrals, before and after).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from casebridge.clients import PrimeroClient
from casebridge.control import ControlStore
from loader.rate_limit import TokenBucket

log = structlog.get_logger(__name__)

SYSTEM = "primero"
#: Fields Primero's own side effects of a decision change (besides the decided service rows).
SIDE_EFFECTS = frozenset(
    {
        "last_updated_at",
        "last_updated_by",
        "last_updated_by_full_name",
        "last_updated_organization",
        "assigned_user_names",
        "associated_user_names",
        "services_section",
    }
)
#: Fields of a referral that a decision changes.
DECISION_FIELDS = frozenset(
    {"status", "responded_at", "rejected_reason", "rejection_note", "user_can_accept_or_reject"}
)


def stamp_of(answer: Mapping[str, Any]) -> str | None:
    """The case's `last_updated_at` in a write's answer (a case PATCH, or a transition's
    `record`), or None when the answer does not carry it."""
    record = answer.get("record")
    source = record if isinstance(record, Mapping) else answer
    stamp = source.get("last_updated_at")
    return stamp if isinstance(stamp, str) and stamp else None


@dataclass(frozen=True)
class Before:
    """The case and its referrals as read just before the loader's writes."""

    record_id: str
    case: Mapping[str, Any]
    referrals: Sequence[Mapping[str, Any]]


class OwnWrites:
    """Checks a case after the loader's writes and records its version when they were alone."""

    def __init__(self, client: PrimeroClient, limiter: TokenBucket, store: ControlStore) -> None:
        self._client = client
        self._limiter = limiter
        self._store = store

    async def before(
        self,
        record_id: str,
        case: Mapping[str, Any] | None = None,
        referrals: Sequence[Mapping[str, Any]] | None = None,
    ) -> Before:
        """Read (what the caller has not read already) the case and referrals before writing."""
        if case is None:
            await self._limiter.acquire()
            case = await self._client.get_case(record_id)
        if referrals is None:
            await self._limiter.acquire()
            referrals = await self._client.list_referrals(record_id)
        return Before(record_id, case, referrals)

    async def settle(
        self,
        before: Before,
        *,
        stamps: Iterable[str | None],
        fields: Iterable[str] = (),
        rows: Iterable[str] = (),
        decided: Iterable[str] = (),
    ) -> bool:
        """Record the version of the last write when nothing but ours changed; True if so.

        `stamps`: the case versions our writes answered; `fields` the case fields we sent,
        `rows` the service row ids our writes act on, `decided` the referral ids we PATCHed.
        """
        known = [s for s in stamps if s]
        if not known:
            return False
        record_id = before.record_id
        last = max(known, key=_parse)
        await self._limiter.acquire()
        after = await self._client.get_case(record_id)
        now = after.get("last_updated_at")
        if not isinstance(now, str) or _parse(now) != _parse(last):
            log.info("own_write_not_recorded", record_id=record_id, why="newer version")
            return False
        ignored = SIDE_EFFECTS | set(fields)
        touched = {str(r) for r in rows}
        if _content(before.case, ignored, touched) != _content(after, ignored, touched):
            log.info("own_write_not_recorded", record_id=record_id, why="case changed meanwhile")
            return False
        await self._limiter.acquire()
        referrals_after = await self._client.list_referrals(record_id)
        ours = {str(r) for r in decided}
        if _others(before.referrals, ours) != _others(referrals_after, ours):
            log.info("own_write_not_recorded", record_id=record_id, why="referral changed")
            return False
        await self._store.record_own_write(SYSTEM, record_id, _parse(last))
        log.info("own_write_recorded", record_id=record_id)
        return True


def _parse(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _content(
    case: Mapping[str, Any], ignored: AbstractSet[str], touched: AbstractSet[str]
) -> dict[str, Any]:
    """The case without what our writes (and Primero's side effects of them) change."""
    out = {k: v for k, v in case.items() if k not in ignored}
    out["services_section"] = [
        row
        for row in case.get("services_section") or []
        if not (isinstance(row, Mapping) and str(row.get("unique_id")) in touched)
    ]
    return out


def _others(referrals: Sequence[Mapping[str, Any]], decided: set[str]) -> dict[str, Any]:
    """Every referral as it is, ours without the fields our decision changed."""
    return {
        str(r.get("id")): {
            k: v
            for k, v in r.items()
            if str(r.get("id")) not in decided or k not in DECISION_FIELDS
        }
        for r in referrals
    }
