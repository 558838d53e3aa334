"""Flow 1 referrals: one OSCaR client upsert per Primero service under an in-progress referral."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from casebridge.source_dates import iso_date
from transformer.cambodia.oscar_values import (
    MISSING_PHONE,
    agency_short_name,
    dashed_date,
    oscar_string,
    village_code,
)
from transformer.cambodia.tables import CambodiaTables

NOT_SPECIFIED = "Not Specified"
IN_PROGRESS = "in_progress"
#: What OSCaR accepts as a referral's level_of_risk (oscar-web app/models/referral.rb:11,28).
OSCAR_LEVELS_OF_RISK = ("high", "medium", "low", "no action")
#: Client fields OSCaR overwrites on a known child (branch A): sent only when they have a value.
BRANCH_A_OPTIONAL = (
    "external_id_display", "mosvy_number", "given_name", "family_name", "gender",
    "date_of_birth", "location_current_village_code", "address_current_village_code",
    "reason_for_referral", "external_case_worker_name", "external_case_worker_id",
)  # fmt: skip

Record = Mapping[str, Any]


class ReferralUpsert:
    """The natural key and exact `{"organization": {...}}` body of one referred service."""

    def __init__(self, key: dict[str, str], body: dict[str, Any]) -> None:
        self.key = key
        self.body = body


def referral_upserts(
    case: Record, case_ref: str, tables: CambodiaTables, gaps: list[str]
) -> list[ReferralUpsert]:
    """One upsert per service (in `services_section` order) that an in-progress referral points at.

    Every in-progress referral is emitted, not only those created since a cursor: the key names
    the Primero referral, and the OSCaR loader records keys it has sent (an OSCaR upsert with
    `is_referred` creates a referral each time, so it must not repeat).
    """
    referral_by_service = _open_referrals_by_service(case.get("referrals") or [])
    upserts = []
    for service in case.get("services_section") or []:
        service_id = service.get("unique_id")
        referral = referral_by_service.get(service_id) if service_id else None
        if referral is None or not service.get("service_type"):
            continue
        name = _oscar_service_name(service, tables, case_ref, gaps)
        organization = _organization(service, case)
        if not organization:
            gaps.append(f"organisation is empty for service {service_id} of case {case_ref}")
        risk = _level_of_risk(case, case_ref, tables, gaps)
        if name is None or not organization or risk is None:
            continue
        body = _client(case, referral, risk) | {
            "organization_name": organization,
            "organization_id": oscar_string(case.get("owned_by_agency_id")),
            "services": [{"uuid": oscar_string(service_id), "name": name}],
        }
        body |= _transaction(case)
        body["date_of_referral"] = dashed_date(iso_date(case.get("last_updated_at")))[:10]
        key = {
            "external_id": str(case.get("case_id") or ""),
            "service_uuid": str(service_id),
            "referral_id": str(referral.get("id") or ""),
        }
        upserts.append(ReferralUpsert(key, {"organization": body}))
    return upserts


def _open_referrals_by_service(referrals: Sequence[Record]) -> dict[str, Record]:
    """The newest in-progress referral per service; older duplicates were already sent."""
    newest: dict[str, Record] = {}
    for referral in referrals:
        service_id = referral.get("service_record_id")
        if referral.get("status") != IN_PROGRESS or not service_id:
            continue
        current = newest.get(service_id)
        if current is None or _age_key(referral) > _age_key(current):
            newest[service_id] = referral
    return newest


def _age_key(referral: Record) -> tuple[str, str]:
    return (str(referral.get("created_at") or ""), str(referral.get("id") or ""))


def _level_of_risk(
    case: Record, case_ref: str, tables: CambodiaTables, gaps: list[str]
) -> str | None:
    """OSCaR's level_of_risk, which every referral needs: the mapped risk_level, else the
    table's default for a case without one; a gap when neither gives a value OSCaR accepts."""
    risk = case.get("risk_level")
    level = tables.risk_to_oscar.get(risk, risk) if risk else tables.risk_to_oscar_default
    if not level:
        gaps.append(
            f"case {case_ref} has no risk_level and OSCaR refuses a referral without"
            " level_of_risk: set it in Primero, or set primero_to_oscar.default_when_missing"
            " in cambodia-risk-level-map.json"
        )
        return None
    if level not in OSCAR_LEVELS_OF_RISK:
        gaps.append(
            f"risk_level {risk!r} of case {case_ref} gives level_of_risk {level!r}, which OSCaR"
            f" refuses (it accepts {', '.join(OSCAR_LEVELS_OF_RISK)})"
        )
        return None
    return str(level)


def _client(case: Record, referral: Record, risk: str) -> dict[str, Any]:
    """Client fields, in the order OpenFn sent them (kept for readable diffs).

    For a child OSCaR knows (`global_id`), OSCaR overwrites its client with what is sent, so
    blank fields are left out (the loader fills them from OSCaR's own values).
    """
    body: dict[str, Any] = {
        "external_id": oscar_string(case.get("case_id")),
        "external_id_display": oscar_string(case.get("case_id_display")),
    }
    if case.get("oscar_number"):
        body["global_id"] = case["oscar_number"]
    body["level_of_risk"] = risk
    location = village_code(case.get("location_current"))
    body |= {
        "mosvy_number": oscar_string(case.get("mosvy_number")),
        "given_name": oscar_string(case.get("name_first")),
        "family_name": oscar_string(case.get("name_last")),
        "gender": oscar_string(case.get("sex")),
        "date_of_birth": dashed_date(iso_date(case.get("date_of_birth"))),
        "location_current_village_code": location,
        "address_current_village_code": location,
        "reason_for_referral": oscar_string(referral.get("notes")),
        "external_case_worker_name": oscar_string(case.get("owned_by")),
        "external_case_worker_id": oscar_string(case.get("owned_by_id")),
        "external_case_worker_mobile": case.get("owned_by_phone") or MISSING_PHONE,
    }
    if case.get("workflow") == "referral_to_oscar":
        body["resource"] = "Primero"
    body["is_referred"] = True
    if "global_id" in body:
        body = {k: v for k, v in body.items() if k not in BRANCH_A_OPTIONAL or v != ""}
    return body


def _oscar_service_name(
    service: Record, tables: CambodiaTables, case_ref: str, gaps: list[str]
) -> str | None:
    """OSCaR's service name from the FIRST Primero subtype; 'Not Specified' when there is none."""
    subtypes = service.get("service_subtype") or []
    if isinstance(subtypes, str):
        subtypes = [subtypes]
    first = subtypes[0] if subtypes else None
    if not first:
        return NOT_SPECIFIED
    name = tables.services_to_oscar.get(first)
    if name is None:
        gaps.append(
            f"unknown Primero service subtype {first} for service {service.get('unique_id')}"
            f" of case {case_ref}"
        )
    return name


def _organization(service: Record, case: Record) -> str:
    """The OSCaR organisation that receives this service's referral."""
    response_type = service.get("service_response_type")
    if response_type == "referral_from_oscar":
        return agency_short_name(service.get("oscar_referring_organization"))
    if response_type == "referral_to_oscar":
        return agency_short_name(service.get("service_implementing_agency"))
    return agency_short_name(case.get("owned_by_agency_id"))


def _transaction(case: Record) -> dict[str, Any]:
    """The newest transition's id (by `created_at`, then id).

    The old job read `transitions[0]` right after sorting the list in place newest first (for
    the referral notes), so it sent the newest; Primero itself returns transitions in no
    defined order (`has_many :transitions`, no `order`).
    """
    transitions = [t for t in case.get("transitions") or [] if isinstance(t, Mapping)]
    if not transitions:
        return {}
    newest = max(transitions, key=_age_key)
    if newest.get("transition_id"):
        return {"transaction_id": newest["transition_id"]}
    return {}
