"""The Primero target's proGres operations (flows P1 and P4, MAPPINGS B.1 and B.4).

- `progres_case_upsert` (P1): the case by `unhcr_individual_no` (else by the `case_id` DTP gave
  as `progres_primeroid`); PATCH it, or POST when there is none. Several cases with one UNHCR
  number -> permanent error naming them (never pick one). A service row whose
  `progres_interventionnumber` the case already has is sent with that row's `unique_id`, so a
  repeated intervention updates its row instead of appending one; a decided row keeps its
  `unhcr_referral_status`. `owned_by` is sent on create only (the focal point reassigns cases).
  After the write, one "Pending Acknowledgement" `feedback` command per intervention for the
  `progres` loader, with the Primero `case_id` and owner.
- `progres_referral_decision` (P4): the case by `case_id` (none or several -> permanent), its
  referrals; per decision the first `in_progress` referral whose `service_record_id` ends with
  the 12-char suffix is PATCHed with the decision. A referral with that suffix that is already
  decided -> skipped (a repeat, or decided in Primero meanwhile). No referral with that suffix at
  all -> after the others are applied, a permanent error naming the DTP referral numbers (the
  old job logged "Skipping update" and the decision was lost from sight). A decision Primero
  refuses (422: consent withdrawn, target user disabled) is permanent with Primero's own text.
  After the decisions, the case version they left is recorded as casebridge's own write
  (`primero_own_writes`), so P2/P3 do not publish it again.
"""

from __future__ import annotations

from typing import Any

import structlog

from casebridge.clients import PrimeroClient
from casebridge.errors import PermanentError
from casebridge.messages import UpsertCommand
from loader.payloads import body_part, key_part
from loader.rate_limit import TokenBucket
from loader.targets.primero_cases import Case, CaseFinder
from loader.targets.primero_own_writes import OwnWrites, stamp_of
from loader.writer import Written

log = structlog.get_logger(__name__)

PRODUCER = "loader-primero"
DECIDED = frozenset({"accepted", "rejected"})
IN_PROGRESS = "in_progress"
#: Fields a PATCH of an existing case never sends (see the module docstring).
CREATE_ONLY = ("owned_by", "case_id")


class ProgresOperations:
    """P1 and P4 writes on Primero."""

    def __init__(
        self,
        client: PrimeroClient,
        limiter: TokenBucket,
        cases: CaseFinder,
        own_writes: OwnWrites | None = None,
    ) -> None:
        self._client = client
        self._limiter = limiter
        self._cases = cases
        self._own = own_writes

    async def case_upsert(self, command: UpsertCommand) -> Written:
        """P1: upsert by UNHCR individual number; feedback per intervention follows."""
        individual = key_part(command, "unhcr_individual_no")
        data = dict(body_part(command, "data"))
        rows = [dict(r) for r in data.get("services_section") or [] if isinstance(r, dict)]
        case = await self._cases.by("unhcr_individual_no", individual)
        if case is None and data.get("case_id"):
            case = await self._cases.by("case_id", str(data["case_id"]))
        if case is None:
            await self._limiter.acquire()
            created = await self._client.create_case(data)
            log.info("primero_case_created", flow="p1")
            record_id = str(created.get("id") or "")
            case_id = created.get("case_id")
            owner = created.get("owned_by") or data.get("owned_by")
            if not case_id and record_id:
                full = await self._cases.full({"id": record_id})
                case_id, owner = full.get("case_id"), full.get("owned_by") or owner
        else:
            full = await self._cases.full(case)
            patch = {k: v for k, v in data.items() if k not in CREATE_ONLY}
            patch["services_section"] = _merge_rows(rows, full.get("services_section") or [])
            await self._limiter.acquire()
            await self._client.update_case(str(case["id"]), patch)
            record_id = str(case["id"])
            case_id, owner = full.get("case_id"), full.get("owned_by")
        feedback = tuple(
            _pending_ack(command, str(row["progres_interventionnumber"]), case_id, owner)
            for row in rows
            if row.get("progres_interventionnumber")
        )
        return Written(target_id=record_id or None, follow_ups=feedback)

    async def referral_decision(self, command: UpsertCommand) -> Written:
        """P4: DTP's decisions onto the case's referrals, matched by service id suffix."""
        case_id = key_part(command, "case_id")
        decisions = body_part(command, "decisions", list)
        found = await self._cases.by("case_id", case_id)
        if found is None:
            raise PermanentError(
                f"no Primero case with case_id {case_id}; the referral decision cannot be synced"
            )
        record_id = str(found["id"])
        await self._limiter.acquire()
        referrals = await self._client.list_referrals(record_id)
        before = await self._own.before(record_id, None, referrals) if self._own else None
        taken: set[str] = set()
        unmatched: list[str] = []
        stamps: list[str | None] = []
        rows: list[str] = []
        for decision in decisions:
            suffix = str(decision.get("service_suffix") or "")
            referral = _matching_referral(referrals, suffix, taken)
            number = decision.get("progres_interoperabilityreferralnumber")
            if referral is None:
                if any(_service_of(r).endswith(suffix) for r in referrals if suffix):
                    log.info("progres_decision_already_decided", referral_number=number)
                else:
                    unmatched.append(f"{number} (service …{suffix})")
                continue
            taken.add(str(referral["id"]))
            body = {**(decision.get("data") or {}), "id": referral["id"], "record_id": record_id}
            await self._limiter.acquire()
            answer = await self._client.update_referral(record_id, str(referral["id"]), body)
            stamps.append(stamp_of(answer))
            rows.append(str(referral.get("service_record_id") or ""))
            log.info(
                "progres_decision_applied", referral_id=referral["id"], status=body.get("status")
            )
        if self._own is not None and before is not None and taken:
            await self._own.settle(before, stamps=stamps, rows=rows, decided=taken)
        if unmatched:
            raise PermanentError(
                f"case {case_id} has no referral for DTP's decision on {', '.join(unmatched)};"
                " the decision cannot be synced"
            )
        return Written(target_id=record_id)


def _merge_rows(rows: list[dict[str, Any]], current: list[Any]) -> list[dict[str, Any]]:
    by_number = {
        str(r.get("progres_interventionnumber")): r
        for r in current
        if isinstance(r, dict) and r.get("progres_interventionnumber") and r.get("unique_id")
    }
    merged = []
    for row in rows:
        have = by_number.get(str(row.get("progres_interventionnumber")))
        if have is not None:
            row = {**row, "unique_id": have["unique_id"]}
            if have.get("unhcr_referral_status") in DECIDED:
                row.pop("unhcr_referral_status", None)
        merged.append(row)
    return merged


def _service_of(referral: Case) -> str:
    return str(referral.get("service_record_id") or "")


def _matching_referral(referrals: list[Case], suffix: str, taken: set[str]) -> Case | None:
    if not suffix:
        return None
    for referral in referrals:
        if (
            _service_of(referral).endswith(suffix)
            and referral.get("status") == IN_PROGRESS
            and str(referral.get("id")) not in taken
        ):
            return referral
    return None


def _pending_ack(cause: UpsertCommand, number: str, case_id: Any, owner: Any) -> UpsertCommand:
    return UpsertCommand.caused_by(
        cause,
        target="progres",
        operation="feedback",
        key={"progres_interventionnumber": number},
        payload={
            "body": {
                "status": "Pending Acknowledgement",
                "primero_user": owner,
                "case_id": case_id,
                "progres_interventionnumber": number,
            }
        },
        producer=PRODUCER,
        mapping_version=cause.mapping_version,
    )
