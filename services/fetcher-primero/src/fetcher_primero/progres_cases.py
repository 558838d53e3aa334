"""Flows P2 and P3's source queries (MAPPINGS B.2, B.3): Primero cases changed since a cursor.

The old jobs read one page (P3: Primero's default 20 rows) with the cursor set to "now" at the end
of the run, and P2 re-sent every decision whenever a case was touched. Here each flow has its own
query and cursor (`primero:p2-cases`, `primero:p3-cases`):
`last_updated_at=<cursor - overlap>..`, ordered by `last_updated_at` ascending, paged to the end,
the cursor moved after each page's records were confirmed. Only cases that can matter are
published (P2: a service row from proGres — it has a `progres_interventionnumber` — with an
accepted/rejected `unhcr_referral_status`; P3: a service implemented by `UNHCR`); the transformer
makes the exact selection. P3 records also carry the case's `referrals` and, under `user`, the
owner's Primero user record (the contact fields of `ReceiveIncomingReferral`), read once per pass.

De-duplication as in C1: the message id is (flow, case id, `last_updated_at`), checked with
`seen` before publishing and remembered after the confirms. Not re-sending a decision or a
referral on the next touch of the case is the progres loader's job (sent once per natural key).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import structlog

from casebridge.clients import PrimeroClient
from casebridge.control import ControlStore
from casebridge.fetch_metrics import FetchMetrics
from casebridge.messages import RawRecord
from casebridge.publishing import MessagePublisher
from fetcher_primero.case_record import case_record
from fetcher_primero.own_writes import own_echoes
from fetcher_primero.watermark import parse_primero_time, primero_time, query_from

log = structlog.get_logger(__name__)

STAGE = "fetcher-primero"
DECIDED = frozenset({"accepted", "rejected"})
#: The contact fields P3 sends; nothing else of the user record travels.
USER_FIELDS = ("user_name", "full_name", "position", "email", "phone")


def has_progres_decision(case: dict[str, Any]) -> bool:
    """P2: a service row from proGres with UNICEF's decision on it."""
    return any(
        isinstance(row, dict)
        and row.get("progres_interventionnumber")
        and row.get("unhcr_referral_status") in DECIDED
        for row in case.get("services_section") or []
    )


def refers_to_unhcr(case: dict[str, Any]) -> bool:
    """P3: a service implemented by UNHCR."""
    return any(
        isinstance(row, dict) and row.get("service_implementing_agency") == "UNHCR"
        for row in case.get("services_section") or []
    )


class ProgresCasesFetch:
    """One flow's pass: page, keep, dedupe, (P3: enrich), publish with confirms, advance."""

    def __init__(
        self,
        flow: str,
        client: PrimeroClient,
        publisher: MessagePublisher,
        open_store: Callable[[], Awaitable[ControlStore]],
        *,
        start_cursor: str,
        overlap_s: float = 300.0,
        per: int = 1000,
    ) -> None:
        if flow not in ("p2", "p3"):
            raise ValueError(f"ProgresCasesFetch serves p2 and p3, not {flow}")
        self.flow = flow
        self.cursor = f"primero:{flow}-cases"
        self._keep = has_progres_decision if flow == "p2" else refers_to_unhcr
        self._client = client
        self._publisher = publisher
        self._open_store = open_store
        self._store: ControlStore | None = None
        self._start_cursor = start_cursor
        self._overlap_s = overlap_s
        self._per = per
        self._users: dict[str, dict[str, Any]] | None = None

    async def run(self) -> int:
        """One pass; returns the raw records published."""
        if self._store is None:
            self._store = await self._open_store()
        store = self._store
        stored = await store.get_cursor(self.cursor)
        if stored is not None:
            FetchMetrics.for_registry().cursor_at(self.cursor, stored.value)
        since = query_from(stored.value if stored else self._start_cursor, self._overlap_s)
        params = {"last_updated_at": f"{since}..", "order_by": "last_updated_at", "order": "asc"}
        self._users = None  # re-read once per pass (owners and contacts change)
        published = 0
        async for page in self._client.iter_case_pages(params, per=self._per):
            FetchMetrics.for_registry().fetched(self.flow, len(page.records))
            published += await self._publish_page(store, page.records)
            await self._advance(store, page.records)
        log.info("progres_cases_pass", flow=self.flow, since=since, published=published)
        return published

    async def _publish_page(self, store: ControlStore, cases: Sequence[dict[str, Any]]) -> int:
        drafts = {r.message_id: (r, c) for c in cases if self._keep(c) for r in [self._record(c)]}
        if not drafts:
            return 0
        already = await store.seen(STAGE, drafts)
        fresh = [case for mid, (_, case) in drafts.items() if mid not in already]
        echoes = await own_echoes(store, fresh)
        if echoes:
            fresh = [case for case in fresh if str(case.get("id")) not in echoes]
            log.info("progres_cases_own_writes_skipped", flow=self.flow, cases=len(echoes))
        if not fresh:
            return 0
        records = [await self._enriched(case) for case in fresh]
        await self._publisher.publish_many(records)
        await store.remember(STAGE, [r.message_id for r in records])
        return len(records)

    async def _enriched(self, case: dict[str, Any]) -> RawRecord:
        if self.flow == "p2":
            return self._record(case)
        referrals = await self._client.list_referrals(str(case["id"]))
        users = await self._directory()
        owner = users.get(str(case.get("owned_by") or "").strip().lower())
        return self._record({**case, "referrals": referrals, "user": owner})

    async def _directory(self) -> dict[str, dict[str, Any]]:
        if self._users is None:
            self._users = {
                str(u.get("user_name") or "").strip().lower(): {
                    k: u.get(k) for k in USER_FIELDS if u.get(k) is not None
                }
                for u in await self._client.list_users()
            }
        return self._users

    async def _advance(self, store: ControlStore, cases: Sequence[dict[str, Any]]) -> None:
        stamps = [
            parse_primero_time(c["last_updated_at"]) for c in cases if c.get("last_updated_at")
        ]
        if not stamps:
            return
        stored = await store.get_cursor(self.cursor)
        newest: datetime = max(stamps)
        if stored is None or parse_primero_time(stored.value) < newest:
            await store.set_cursor(self.cursor, primero_time(newest))
            FetchMetrics.for_registry().cursor_at(self.cursor, newest)

    def _record(self, case: dict[str, Any]) -> RawRecord:
        return case_record(case, flow=self.flow, query=self.cursor)

    async def close(self) -> None:
        """Release the client's connections and the store."""
        await self._client.close()
        if self._store is not None:
            await self._store.close()
            self._store = None
