"""Flow 2: an OSCaR client as the body of a Primero case upsert (`{"data": {...}}`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from casebridge.source_dates import iso_date, parse_date
from transformer.cambodia.tables import CambodiaTables

MODULE_ID = "primeromodule-cp"
PROVIDED_BY_PARTNER = "service_being_provided_by_oscar_partner_47618"
REFERRAL_TO_OSCAR = "referral_to_oscar"
REFERRAL_FROM_OSCAR = "referral_from_oscar"
#: Ages outside this window of raw year differences are OSCaR placeholders (e.g. 1800-06-25).
_PLAUSIBLE_YEARS = range(1, 31)

Client = Mapping[str, Any]


def is_linked(client: Client) -> bool:
    """OSCaR already holds this client's Primero case id: an update, never a create."""
    return bool(client.get("external_id"))


def is_referred(client: Client) -> bool:
    """The client came to Primero as an OSCaR referral (strictly `true`, as OSCaR sends it)."""
    return client.get("is_referred") is True


def case_fields(client: Client, tables: CambodiaTables, today: date) -> dict[str, Any]:
    """Case-level fields; demographics only when the client is not linked yet (create)."""
    data: dict[str, Any] = {"oscar_number": client.get("global_id")}
    if client.get("external_id"):
        data["case_id"] = client["external_id"]
    if client.get("external_id_display"):
        data["case_id_display"] = client["external_id_display"]
    data |= _present(client, ("oscar_short_id", "slug"), ("mosvy_number", "mosvy_number"))
    referred = is_referred(client)
    if not is_linked(client):
        data |= _demographics(client, tables, today)
    data |= _present(client, ("oscar_status", "status"))
    if not is_linked(client) and referred:
        data["protection_status"] = "oscar_referral"
    data |= _present(client, ("oscar_reason_for_exiting", "reason_for_exiting"))
    data |= {"consent_for_services": True, "disclosure_other_orgs": True}
    if referred:
        data["risk_level"] = _risk_level(client, tables)
    if not is_linked(client) and referred:
        data["interview_subject"] = "other"
    data["module_id"] = MODULE_ID
    return data


def service_row(client: Client, service: Client, tables: CambodiaTables) -> dict[str, Any]:
    """One `services_section` row; `unique_id` is OSCaR's service-catalogue uuid."""
    name = service.get("name")
    mapped = tables.services_to_primero.get(name) if isinstance(name, str) else None
    organization = f"agency-{client.get('organization_name') or ''}"
    row: dict[str, Any] = {"unique_id": service.get("uuid")}
    row |= _present(
        client,
        ("referral_notes_from_oscar_2e787b8", "reason_for_referral"),
    )
    row |= _present(service, ("service_referral_notes", "reason_for_referral"))
    row["service_type"] = mapped.type if mapped else "Other"
    row["service_subtype"] = [mapped.subtype if mapped else None]
    if mapped:
        row["service_type_text"] = mapped.type
    row["service_type_details_text"] = "n/a" if mapped else name
    if service.get("enrollment_date"):
        row["service_response_day_time"] = f"{service['enrollment_date']}T00:00:00.000Z"
    row["service_response_type"] = response_type(client, service)
    row |= _present(
        client,
        ("oscar_case_worker_name", "case_worker_name"),
        ("oscar_case_worker_telephone", "case_worker_mobile"),
    )
    row["oscar_referring_organization"] = organization
    row["service_implementing_agency"] = organization
    if service.get("referral_id") is not None:
        row["oscar_referral_id_a4ac8a5"] = str(service["referral_id"])
    status = tables.status_to_primero_service.get(str(service.get("referral_status")))
    if status:
        row["referral_status_edf41f2"] = status
    return row


def response_type(client: Client, service: Client) -> str:
    """Enrolled -> provided by the partner; a referral on a linked client -> Primero's own."""
    if service.get("enrollment_date"):
        return PROVIDED_BY_PARTNER
    if client.get("resource") == "primero":
        return REFERRAL_TO_OSCAR
    return REFERRAL_FROM_OSCAR


def _demographics(client: Client, tables: CambodiaTables, today: date) -> dict[str, Any]:
    gender = str(client.get("gender") or "").lower()
    birth = _clean_birth_date(client.get("date_of_birth"))
    return {
        "name_first": _khmer_first(client.get("local_given_name"), client.get("given_name")),
        "name_last": _khmer_first(client.get("local_family_name"), client.get("family_name")),
        "sex": tables.gender_to_primero.get(gender, tables.gender_default),
        "age": _age(birth, today),
        "date_of_birth": iso_date(birth),
        "location_current": _location(client),
    }


def _khmer_first(local: Any, english: Any) -> Any:
    """'<local> (<english>)' when both exist, else whichever exists, else null."""
    if local and english:
        return f"{local} ({english})"
    return local or english or None


def _clean_birth_date(value: Any) -> Any:
    """Drops the stray first digit of 11-character OSCaR dates such as '22012-01-01'."""
    if isinstance(value, str) and len(value) == 11:
        return value[1:]
    return value


def _age(birth: Any, today: date) -> int:
    """Completed years at `today`; 0 when unknown or implausible. Unpadded (`2015-1-5`) and
    slashed dates count."""
    born = parse_date(birth)
    if born is None:
        return 0
    if today.year - born.year not in _PLAUSIBLE_YEARS:
        return 0
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _location(client: Client) -> str | None:
    """The village code without leading zeros, as Primero stores it; null without a code."""
    code = client.get("location_current_village_code") or client.get("address_current_village_code")
    text = str(code or "").strip()
    return str(int(text)) if text.isascii() and text.isdigit() else None


def _risk_level(client: Client, tables: CambodiaTables) -> str:
    """OSCaR's risk (its serializer calls it `level_of_risk`); 'no_action' when there is none."""
    risk = client.get("risk_level") or client.get("level_of_risk")
    if not risk:
        return tables.risk_default
    return tables.risk_to_primero.get(str(risk), str(risk))


def _present(source: Client, *pairs: tuple[str, str]) -> dict[str, Any]:
    """`target: source[field]` for each field the source sends at all."""
    return {target: source[field] for target, field in pairs if field in source}
