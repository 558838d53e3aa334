"""P3: a Primero referral to UNHCR -> DTP `ReceiveIncomingReferral` (MAPPINGS B.3).

The raw record is a case with its `referrals` and, under `user`, the owner's Primero user record
(attached by fetcher-primero; the contact fields fall back to `progres-constants.json`). A service
is sent when its `service_implementing_agency` is `UNHCR` and a referral of the case points at it
(`service_referral.service_record_id == unique_id`): a planned service that was never referred is
not sent. One `progres` `referral` command per service, keyed by the DTP id
`<case_id>#<last 12 of the service unique_id>`; the loader sends each id once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from casebridge.messages import RawRecord, UpsertCommand
from casebridge.skips import Skipped, SkipReason
from transformer.mapping_gap import MappingGap
from transformer.progres.tables import ProgresTables

PRODUCER = "transformer"


def dtp_referral_id(case_id: str, unique_id: str) -> str:
    """The correlation id DTP echoes back as `progres_orgreferralid`."""
    return f"{case_id}#{unique_id[-12:]}"


def map_p3(raw: RawRecord, tables: ProgresTables) -> Sequence[UpsertCommand]:
    """Referral commands for one Primero case; `Skipped` when no referral points at a UNHCR
    service."""
    case = raw.payload
    referred = {
        str(r.get("service_record_id"))
        for r in case.get("referrals") or []
        if isinstance(r, dict) and r.get("service_record_id")
    }
    commands = []
    for row in case.get("services_section") or []:
        if not isinstance(row, dict):
            continue
        unique_id = str(row.get("unique_id") or "")
        if row.get("service_implementing_agency") != tables.referral_agency:
            continue
        if not unique_id or unique_id not in referred:
            continue
        if not case.get("case_id"):
            raise MappingGap(f"Primero case {case.get('id')} refers to UNHCR but has no case_id")
        body = _body(case, row, tables)
        commands.append(
            UpsertCommand.caused_by(
                raw,
                target="progres",
                operation="referral",
                key={"id": body["id"]},
                payload={"body": body},
                producer=PRODUCER,
                mapping_version=tables.version,
            )
        )
    if not commands:
        return Skipped(
            SkipReason.NOT_APPLICABLE,
            f"Primero case {raw.source.record_id} has no UNHCR-implemented service that a"
            " referral points at",
        )
    return commands


def _body(case: dict[str, Any], row: dict[str, Any], tables: ProgresTables) -> dict[str, Any]:
    found = case.get("user")
    user: dict[str, Any] = found if isinstance(found, dict) else {}
    fallback = tables.contact_fallback
    body: dict[str, Any] = {
        "primero_user": case.get("owned_by"),
        "position": user.get("position") or fallback["position"],
        "email": user.get("email") or fallback["email"],
        "phone": user.get("phone") or fallback["phone"],
        "full_name": user.get("full_name") or fallback["full_name"],
        "request_type": "ReceiveIncomingReferral",
        "service_implementing_agency": "UNICEF",
        "service_response_day_time": row.get("service_response_day_time"),
    }
    service_type = tables.services_to_progres.get(str(row.get("service_type")))
    if service_type is not None:  # unmapped types are sent without service_type (MAPPINGS E.13)
        body["service_type"] = service_type
    body.update(
        {
            "service_type_other": row.get("service_type_other") or None,
            "service_referral_notes": row.get("service_referral_notes")
            or tables.default_referral_notes,
            "owned_by_agency_id": "UNICEF",
            "unhcr_individual_no": case.get("unhcr_individual_no"),
            "unhcr_id_no": case.get("unhcr_id_no"),
            "name_first": case.get("name_first"),
            "name_last": case.get("name_last"),
            "name_middle": case.get("name_middle") or None,
            "name_nickname": case.get("name_nickname") or None,
        }
    )
    if case.get("date_of_birth"):
        body["date_of_birth"] = str(case["date_of_birth"])[:10]
    if case.get("sex"):
        body["sex"] = tables.sex_to_progres.get(str(case["sex"]), str(case["sex"]))
    if case.get("address_current") is not None:
        body["address_current"] = case["address_current"]
    phone = case.get("telephone_current")
    body["telephone_current"] = str(phone) if phone not in (None, "") else None
    body["language"] = _language(case.get("language"), tables)
    body["id"] = dtp_referral_id(str(case["case_id"]), str(row["unique_id"]))
    return body


def _language(value: Any, tables: ProgresTables) -> str:
    if not value:
        return tables.default_language
    codes = value if isinstance(value, list) else [value]
    return ", ".join(
        tables.languages_to_progres.get(str(c), tables.default_language) for c in codes
    )
