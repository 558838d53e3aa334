"""The Primero target (flows C0 and C2): case writes by business key, OSCaR's decisions.

- `case_update` (C0): PATCH the one case found by `case_id`; never creates (no case -> permanent).
- `case_upsert` (C2): the case by `case_id`, else by `oscar_number`; PATCH it, or POST when
  there is none. Several matches -> permanent error naming them (see `primero_cases`). A case
  found by `oscar_number` whose `case_id` differs from the command's is a conflict, not an update.
- `service_status_fill` (C2): sets the pending status only on rows whose current status is
  missing or null; rows Primero already decided are left alone. The case must exist (its
  `case_upsert` runs first): until it does, the command is retried (`DependencyPending`).
- `referral_decision` (C2): resolved against the case as the transformer README specifies: match
  each decision to a service, PATCH its `in_progress` referrals, then PATCH the service rows.
- `progres_case_upsert` (P1), `progres_referral_decision` (P4): see `primero_progres`.

Every PATCH is a Primero merge (rows by `unique_id`), so re-applying a command changes nothing;
the fill and the decisions also skip writes whose values are already there.

Lookups by `oscar_number` / `unhcr_individual_no` never create on a dropped filter: a role that
cannot read the field gets the whole index back, `find_cases` stops with `FilterIgnored`, the
command dead-letters with "Primero ignored the filter on oscar_number: the API user's role
cannot read that field", and the problem is listed by `casebridge status` until a lookup works.
A referral PATCH Primero refuses (422 consent / target user) dead-letters with Primero's text.
After a `referral_decision`, the case version the writes left is recorded as casebridge's own
(`primero_own_writes`), so fetcher-primero's next C1 pass does not publish it as new work.
"""

from __future__ import annotations

from typing import Any

import structlog

from casebridge.clients import FilterIgnored, PrimeroApiSettings, PrimeroClient
from casebridge.control import ControlStore
from casebridge.errors import PermanentError
from casebridge.messages import UpsertCommand
from loader.breaker import CircuitBreaker
from loader.errors import DependencyPending
from loader.guard_settings import GuardSettings
from loader.guarded import GuardedTarget
from loader.payloads import body_part, key_part, unknown_operation
from loader.rate_limit import TokenBucket
from loader.target import Target
from loader.targets.primero_cases import Case, CaseFinder
from loader.targets.primero_matching import PENDING, changed_fields, match_service
from loader.targets.primero_own_writes import OwnWrites, stamp_of
from loader.targets.primero_progres import ProgresOperations
from loader.writer import RepeatableWrites, Written

log = structlog.get_logger(__name__)

NAME = "primero"
OPERATIONS = frozenset(
    {
        "case_update",
        "case_upsert",
        "service_status_fill",
        "referral_decision",
        "progres_case_upsert",
        "progres_referral_decision",
    }
)
STATUS = "referral_status_edf41f2"
IN_PROGRESS = "in_progress"


class PrimeroSettings(PrimeroApiSettings, GuardSettings):
    """The Primero target's settings: `PRIMERO_*` plus the shared rate limit and breaker."""


class PrimeroWriter(RepeatableWrites):
    """Writes commands to the Primero v2 API."""

    name = NAME
    once_per_key: frozenset[str] = frozenset()
    #: P1 upserts are followed by DTP feedback commands (see `primero_progres`).
    follow_up_targets = ("progres",)

    def __init__(
        self, client: PrimeroClient, limiter: TokenBucket, store: ControlStore | None = None
    ) -> None:
        self._client = client
        self._limiter = limiter
        self._store = store
        self._cases = CaseFinder(client, limiter)
        self._own = OwnWrites(client, limiter, store) if store is not None else None
        self._progres = ProgresOperations(client, limiter, self._cases, self._own)
        #: Fields whose ignored filter this process reported (cleared once a lookup works).
        self._reported: set[str] = set()

    async def start(self) -> None:
        """Nothing to open: the session is created on first use."""

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._client.close()

    async def write(self, command: UpsertCommand) -> Written:
        """Dispatch on the operation; an ignored filter is also kept as a problem for status."""
        try:
            written = await self._dispatch(command)
        except FilterIgnored as exc:
            if self._store is not None:
                if await self._store.report_problem(f"{NAME}:filter:{exc.field}", str(exc)):
                    log.error("primero_filter_ignored", field=exc.field)
                self._reported.add(exc.field)
            raise
        if self._reported and self._store is not None:
            for field in sorted(self._reported):
                await self._store.clear_problem(f"{NAME}:filter:{field}")
            self._reported.clear()
        return written

    async def _dispatch(self, command: UpsertCommand) -> Written:
        if command.operation == "case_update":
            return await self._case_update(command)
        if command.operation == "case_upsert":
            return await self._case_upsert(command)
        if command.operation == "service_status_fill":
            return await self._service_status_fill(command)
        if command.operation == "referral_decision":
            return await self._referral_decision(command)
        if command.operation == "progres_case_upsert":
            return await self._progres.case_upsert(command)
        if command.operation == "progres_referral_decision":
            return await self._progres.referral_decision(command)
        raise unknown_operation(command, OPERATIONS)

    async def _case_update(self, command: UpsertCommand) -> Written:
        case_id = key_part(command, "case_id")
        data = body_part(command, "data")
        case = await self._cases.by("case_id", case_id)
        if case is None:
            raise PermanentError(
                f"no Primero case with case_id {case_id} (case_update never creates)"
            )
        await self._patch_own(case, data)
        return Written(target_id=str(case["id"]))

    async def _case_upsert(self, command: UpsertCommand) -> Written:
        data = body_part(command, "data")
        case = await self._resolve(command, data)
        if case is not None:
            await self._patch_own(case, data)
            return Written(target_id=str(case["id"]))
        await self._limiter.acquire()
        created = await self._client.create_case(data)
        log.info("primero_case_created")
        return Written(target_id=str(created["id"]) if created.get("id") else None)

    async def _service_status_fill(self, command: UpsertCommand) -> Written:
        rows = body_part(command, "data").get("services_section")
        if not isinstance(rows, list):
            raise PermanentError("primero service_status_fill payload needs data.services_section")
        case = await self._resolve(command, {})
        if case is None:
            raise DependencyPending("no Primero case yet for service_status_fill; its upsert first")
        current = _rows_by_id(await self._cases.full(case))
        fill = []
        for row in rows:
            uid = str(row.get("unique_id") or "")
            have = current.get(uid)
            if have is None:
                log.info("status_fill_row_missing", service_id=uid)
            elif have.get(STATUS) in (None, "") and row.get(STATUS) == PENDING:
                fill.append(row)
        if fill:
            await self._patch_own(case, {"services_section": fill})
        return Written(target_id=str(case["id"]))

    async def _referral_decision(self, command: UpsertCommand) -> Written:
        case_id = key_part(command, "case_id")
        decisions = body_part(command, "decisions", list)
        found = await self._cases.by("case_id", case_id)
        if found is None:
            raise PermanentError(f"no Primero case with case_id {case_id} for OSCaR's decisions")
        case = await self._cases.full(found)
        record_id = str(found["id"])
        rows = list(case.get("services_section") or [])
        taken: set[str] = set()
        matched: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for decision in decisions:
            row = match_service(decision, rows, taken)
            if row is None:
                log.info(
                    "decision_unmatched",
                    case_id=case_id,
                    oscar_referral_id=decision.get("oscar_referral_id"),
                )
                continue
            taken.add(str(row["unique_id"]))
            matched.append((decision, dict(row)))
        if not matched:
            return Written(target_id=record_id)
        await self._limiter.acquire()
        referrals = await self._client.list_referrals(record_id)
        before = (
            await self._own.before(record_id, case, referrals) if self._own is not None else None
        )
        decided, stamps = await self._decide_referrals(record_id, matched, referrals)
        updates = [
            {"unique_id": row["unique_id"], **decision.get("service", {})}
            for decision, row in matched
            if changed_fields(row, decision.get("service", {}))
        ]
        if updates:
            stamps.append(stamp_of(await self._patch(found, {"services_section": updates})))
        if self._own is not None and before is not None and stamps:
            rows = [str(row["unique_id"]) for _, row in matched]
            await self._own.settle(before, stamps=stamps, rows=rows, decided=decided)
        return Written(target_id=record_id)

    async def _decide_referrals(
        self,
        record_id: str,
        matched: list[tuple[dict[str, Any], dict[str, Any]]],
        referrals: list[dict[str, Any]],
    ) -> tuple[list[str], list[str | None]]:
        """PATCH every in-progress referral of each matched service with its decision; the
        referrals decided and the case versions the PATCHes answered."""
        decided: list[str] = []
        stamps: list[str | None] = []
        for decision, row in matched:
            template = (decision.get("referral") or {}).get("data") or {}
            for referral in referrals:
                if (
                    referral.get("status") == IN_PROGRESS
                    and referral.get("service_record_id") == row["unique_id"]
                ):
                    body = {**template, "id": referral["id"], "record_id": record_id}
                    await self._limiter.acquire()
                    answer = await self._client.update_referral(
                        record_id, str(referral["id"]), body
                    )
                    decided.append(str(referral["id"]))
                    stamps.append(stamp_of(answer))
                    log.info(
                        "referral_decided", referral_id=referral["id"], status=body.get("status")
                    )
        return decided, stamps

    async def _resolve(self, command: UpsertCommand, data: dict[str, Any]) -> Case | None:
        """The case by `case_id`, else by `oscar_number`; None when neither finds one."""
        case_id = command.key.get("case_id") or ""
        oscar_number = command.key.get("oscar_number") or str(data.get("oscar_number") or "")
        if not case_id and not oscar_number:
            raise PermanentError(f"primero {command.operation} key needs case_id or oscar_number")
        if case_id:
            case = await self._cases.by("case_id", case_id)
            if case is not None:
                return case
        if not oscar_number:
            return None
        case = await self._cases.by("oscar_number", oscar_number)
        if case is not None and case_id and case.get("case_id") and case["case_id"] != case_id:
            raise PermanentError(
                f"Primero case {case['case_id']} (id {case.get('id')}) holds oscar_number"
                f" {oscar_number}, but OSCaR links that client to case_id {case_id}"
            )
        return case

    async def _patch_own(self, case: Case, data: dict[str, Any]) -> None:
        """PATCH, then record the version it left as casebridge's own (see `OwnWrites`)."""
        if self._own is None:
            await self._patch(case, data)
            return
        before = await self._own.before(str(case["id"]))
        answer = await self._patch(case, data)
        rows = [
            str(r["unique_id"])
            for r in data.get("services_section") or []
            if isinstance(r, dict) and r.get("unique_id")
        ]
        await self._own.settle(before, stamps=[stamp_of(answer)], fields=data, rows=rows)

    async def _patch(self, case: Case, data: dict[str, Any]) -> dict[str, Any]:
        await self._limiter.acquire()
        return await self._client.update_case(str(case["id"]), data)


def _rows_by_id(case: Case) -> dict[str, dict[str, Any]]:
    return {
        str(row["unique_id"]): row
        for row in case.get("services_section") or []
        if isinstance(row, dict) and row.get("unique_id")
    }


def build(store: ControlStore, settings: PrimeroSettings | None = None) -> Target:
    """The entry point: the Primero writer behind the shared guards."""
    settings = settings or PrimeroSettings()
    writer = PrimeroWriter(
        PrimeroClient.from_settings(settings),
        TokenBucket(settings.target_rate_per_s, settings.target_burst),
        store,
    )
    breaker = CircuitBreaker(
        NAME, failure_threshold=settings.breaker_failures, cooldown_s=settings.breaker_cooldown_s
    )
    return GuardedTarget(writer, store, breaker)
