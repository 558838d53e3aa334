"""Flow 2 case owner: the province manager for OSCaR referrals, else the NGO's agency user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transformer.cambodia.case_record import is_linked
from transformer.cambodia.tables import CambodiaTables


def owned_by(
    client: Mapping[str, Any], client_ref: str, tables: CambodiaTables, gaps: list[str]
) -> str | None:
    """The Primero `owned_by` for a new case, or None to leave ownership alone.

    Linked clients already have a Primero owner, who keeps the case.
    """
    if is_linked(client):
        return None
    if client.get("is_referred"):
        return _province_user(client, client_ref, tables, gaps)
    return _agency_user(client, client_ref, tables, gaps)


def province_code(location_code: str) -> str:
    """The 2-digit province of an OSCaR location code; short codes come as '00' + province."""
    return location_code[2:4] if location_code.startswith("00") else location_code[:2]


def _province_user(
    client: Mapping[str, Any], client_ref: str, tables: CambodiaTables, gaps: list[str]
) -> str | None:
    code = str(
        client.get("location_current_village_code") or client.get("organization_address_code") or ""
    )
    if not code:
        return None
    province = province_code(code)
    user = tables.province_users.get(province)
    if user is None:
        gaps.append(
            f"no Primero province user for province code {province}"
            f" (OSCaR client {client_ref}, location code {code})"
        )
    return user


def _agency_user(
    client: Mapping[str, Any], client_ref: str, tables: CambodiaTables, gaps: list[str]
) -> str | None:
    organization = client.get("organization_name")
    if not organization:
        gaps.append(f"organisation is empty for OSCaR client {client_ref}")
        return None
    user = tables.agency_users.get(f"agency-{organization}")
    if user is None:
        gaps.append(
            f"no Primero agency user for organisation {organization} (OSCaR client {client_ref})"
        )
    return user
