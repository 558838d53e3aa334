"""The two item shapes of ``GET /clients`` (API.md §2.4).

``referred``: OrganizationClientSerializer, for clients an NGO referred to the caller.
``shared``: ClientShareExternalSerializer, for every other shareable client.
"""

from __future__ import annotations

from typing import Any

from oscar_sim.records import Client, Referral
from oscar_sim.store import OscarStore


def services(client: Client, inbound: list[Referral]) -> list[dict[str, Any]]:
    """Program enrollments, then the services of referrals the caller sent to this client."""
    items: list[dict[str, Any]] = [
        {
            "program_name": s.program_name,
            "enrollment_date": s.enrollment_date,
            "uuid": s.uuid,
            "name": s.name,
        }
        for s in client.program_services
    ]
    for referral in inbound:
        for uuid, name in referral.services:
            items.append(
                {
                    "program_name": None,
                    "enrollment_date": None,
                    "uuid": uuid,
                    "name": name,
                    "referral_id": referral.id,
                    "referral_status": referral.referral_status,
                }
            )
    return items


def referred(
    client: Client, store: OscarStore, outbound: Referral, inbound: list[Referral]
) -> dict[str, Any]:
    tenant = store.tenants.get(client.tenant)
    return {
        "slug": client.slug,
        "global_id": client.global_id,
        "external_id": client.external_id or "",
        "external_id_display": client.external_id_display or "",
        "mosvy_number": client.mosvy_number or "",
        "given_name": client.given_name or client.local_given_name,
        "family_name": client.family_name or client.local_family_name,
        "gender": client.gender,
        "date_of_birth": client.date_of_birth,
        "location_current_village_code": client.location_code,
        "address_current_village_code": client.location_code,
        "organization_id": tenant.id if tenant else None,
        "organization_name": client.tenant,
        "external_case_worker_name": client.external_case_worker_name,
        "external_case_worker_id": client.external_case_worker_id,
        "reason_for_referral": outbound.reason,
        "status": client.status,
        "case_worker_name": client.case_worker_name,
        "case_worker_mobile": client.case_worker_mobile,
        "is_referred": True,
        "referral_consent_form": list(outbound.consent_form),
        "organization_address_code": tenant.address_code if tenant else "",
        "level_of_risk": outbound.level_of_risk or "",
        "services": services(client, inbound),
    }


def shared(client: Client, store: OscarStore, inbound: list[Referral]) -> dict[str, Any]:
    tenant = store.tenants.get(client.tenant)
    linked = bool(client.external_id)
    return {
        "given_name": client.given_name,
        "family_name": client.family_name,
        "local_given_name": client.local_given_name,
        "local_family_name": client.local_family_name,
        "gender": client.gender,
        "date_of_birth": client.date_of_birth,
        "global_id": client.global_id,
        "slug": client.slug,
        "external_id": client.external_id or "",
        "external_id_display": client.external_id_display or "",
        "status": client.status,
        "mosvy_number": client.mosvy_number or "",
        "location_current_village_code": client.location_code,
        "case_worker_name": client.case_worker_name,
        "case_worker_mobile": client.case_worker_mobile,
        "is_referred": False,
        "organization_name": client.tenant,
        "organization_address_code": tenant.address_code if tenant else "",
        "resource": "primero" if linked else None,
        "services": services(client, inbound) if linked else [],
    }
