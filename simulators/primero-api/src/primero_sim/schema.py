"""Which case fields exist, which a client may write, and their JSON-schema types.

Primero builds a JSON schema from the deployment's forms; keys that are not
permitted are silently dropped by strong params, and type/enum failures give 422
"Invalid Record JSON" with JSON pointers.  The field set below covers the core
fields plus the Cambodia (OSCaR), Gambella (proGres) and ONA fields casebridge
reads and writes (API.md 1.4, 1.8).
"""

from __future__ import annotations

import re
from typing import Any

from primero_sim.clock import parse_moment
from primero_sim.ids import UUID_RE

STATUS_VALUES = ("open", "closed", "transferred", "identified")
MODULE_IDS = ("primeromodule-cp", "primeromodule-gbv", "primeromodule-mrm")
GBV_MODULE = "primeromodule-gbv"

SUBFORMS = ("services_section", "notes_section", "family_details_section")

_T = dict[str, str]

CORE_WRITABLE: _T = {
    "id": "uuid",
    "case_id": "string",
    "status": "status",
    "record_state": "boolean",
    "module_id": "module",
    "owned_by": "string",
    "created_at": "datetime",
    "created_by_source": "string",
}

FORM_WRITABLE: _T = {
    "name": "string",
    "name_first": "string",
    "name_middle": "string",
    "name_last": "string",
    "name_nickname": "string",
    "name_local": "string",
    "hidden_name": "boolean",
    "sex": "string",
    "age": "integer",
    "date_of_birth": "date",
    "estimated": "boolean",
    "registration_date": "date",
    "location_current": "string",
    "location_caregiver": "string",
    "address_current": "string",
    "telephone_current": "string",
    "language": "strings",
    "nationality": "strings",
    "risk_level": "string",
    "protection_concerns": "strings",
    "consent_for_services": "boolean",
    "disclosure_other_orgs": "boolean",
    "consent_reporting": "boolean",
    "interview_subject": "string",
    "type_of_case": "string",
    "disability_type": "string",
    "type_of_placement": "string",
    "closure_reason": "string",
    "unhcr_individual_no": "string",
    "unhcr_id_no": "string",
    "oscar_number": "string",
    "oscar_short_id": "string",
    "mosvy_number": "string",
    "client_code": "string",
    "registry_no": "string",
    "family_number": "string",
    "services_section": "subform",
    "notes_section": "subform",
    "family_details_section": "subform",
}

READ_ONLY: _T = {
    "enabled": "boolean",
    "unique_identifier": "string",
    "short_id": "string",
    "case_id_display": "string",
    "workflow": "string",
    "case_status_reopened": "boolean",
    "reopened_logs": "any",
    "owned_by_full_name": "string",
    "owned_by_agency_id": "string",
    "owned_by_groups": "strings",
    "owned_by_location": "string",
    "owned_by_id": "string",
    "owned_by_phone": "string",
    "previously_owned_by": "string",
    "assigned_user_names": "strings",
    "associated_user_names": "strings",
    "created_by": "string",
    "created_by_full_name": "string",
    "created_organization": "string",
    "posted_at": "datetime",
    "last_updated_at": "datetime",
    "last_updated_by": "string",
    "last_updated_organization": "string",
    "not_edited_by_owner": "boolean",
    "record_in_scope": "boolean",
    "flag_count": "integer",
    "alert_count": "integer",
}

WRITABLE: _T = {**CORE_WRITABLE, **FORM_WRITABLE}
READABLE: frozenset[str] = frozenset({*WRITABLE, *READ_ONLY})

SUBFORM_FIELDS: dict[str, _T] = {
    "services_section": {
        "unique_id": "string",
        "service_response_type": "string",
        "service_type": "string",
        "service_subtype": "strings",
        "service_type_text": "string",
        "service_type_other": "string",
        "service_type_details_text": "string",
        "service_response_day_time": "datetime",
        "service_response_timeframe": "string",
        "service_appointment_date": "date",
        "service_implementing_agency": "string",
        "service_implementing_agency_individual": "string",
        "service_provider": "string",
        "service_delivery_location": "string",
        "service_status_referred": "boolean",
        "service_location": "string",
        "service_referral_notes": "string",
        "service_implemented": "string",
        "service_implemented_day_time": "any",
        "note_on_referral_from_provider": "string",
        "referral_status_edf41f2": "string",
        "oscar_referral_id_a4ac8a5": "any",
        "oscar_referring_organization": "string",
        "oscar_case_worker_name": "string",
        "oscar_case_worker_telephone": "string",
        "referral_notes_from_oscar_2e787b8": "string",
        "service_request_agency": "string",
        "service_request_external": "boolean",
        "service_request_title": "string",
        "service_request_phone": "string",
        "service_request_email": "string",
        "service_referral": "string",
        "unhcr_referral_status": "string",
        "unhcr_referral_rejection_reason": "string",
        "progres_interventionnumber": "string",
    },
    "notes_section": {
        "unique_id": "string",
        "note_date": "datetime",
        "note_subject": "string",
        "note_text": "string",
        "note_created_by": "string",
    },
    "family_details_section": {
        "unique_id": "string",
        "relation": "string",
        "relation_name": "string",
        "relation_is_caregiver": "boolean",
        "relation_age": "integer",
        "relation_telephone": "string",
    },
}

ID_FIELDS = frozenset(
    {
        "unique_identifier",
        "short_id",
        "case_id_display",
        "case_id",
        "client_code",
        "unhcr_id_no",
        "unhcr_individual_no",
        "oscar_number",
        "registry_no",
        "family_number",
        "mosvy_number",
    }
)
"""``Child.filterable_id_fields`` (subset): always exact-match filters."""

_INT32 = 2**31
_DATE_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")


def strip_unknown(data: dict[str, Any]) -> dict[str, Any]:
    """Drop keys strong params would not permit, including unknown subform keys."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        if key not in WRITABLE:
            continue
        if key in SUBFORM_FIELDS and isinstance(value, list):
            allowed = SUBFORM_FIELDS[key]
            value = [
                {k: v for k, v in row.items() if k in allowed or k == "_destroy"}
                if isinstance(row, dict)
                else row
                for row in value
            ]
        kept[key] = value
    return kept


def _type_ok(kind: str, value: Any) -> bool:
    if value is None or kind == "any":
        return True
    if kind in ("string",):
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and -_INT32 <= value < _INT32
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "strings":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "date":
        return isinstance(value, str) and parse_moment(value) is not None
    if kind == "datetime":
        return isinstance(value, str) and parse_moment(value) is not None
    if kind == "uuid":
        return isinstance(value, str) and UUID_RE.match(value) is not None
    if kind == "status":
        return value in STATUS_VALUES
    if kind == "module":
        return value in MODULE_IDS
    if kind == "subform":
        return isinstance(value, list) and all(isinstance(r, dict) for r in value)
    return True


def invalid_pointers(data: dict[str, Any]) -> list[str]:
    """JSON pointers of every value that fails the record JSON schema."""
    pointers: list[str] = []
    for key, value in data.items():
        kind = WRITABLE.get(key, "any")
        if not _type_ok(kind, value):
            pointers.append(f"/{key}")
            continue
        if kind != "subform" or value is None:
            continue
        row_types = SUBFORM_FIELDS.get(key, {})
        for index, row in enumerate(value):
            for field, cell in row.items():
                if field == "unique_id":
                    ok = cell is None or (isinstance(cell, str) and UUID_RE.match(cell) is not None)
                elif field == "_destroy":
                    ok = cell is None or isinstance(cell, bool)
                else:
                    ok = _type_ok(row_types.get(field, "any"), cell)
                if not ok:
                    pointers.append(f"/{key}/{index}/{field}")
    return pointers


def date_of_birth_problem(value: Any, current_year: int) -> str | None:
    """``child.rb#validate_date_of_birth``: a real date, not in a future year."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE_RE.match(value):
        return "errors.models.child.date_of_birth.invalid"
    moment = parse_moment(value)
    if moment is None:
        return "errors.models.child.date_of_birth.invalid"
    if moment.year > current_year:
        return "errors.models.child.date_of_birth.future"
    return None
