"""``POST /clients/upsert``: one referral per call, branching on whether ``global_id`` is known.

Branch A (known ``global_id``): optional new referral, client update, referral status.
Branch B (blank or unknown): find-or-create a referral by ``external_id``; a second
first-referral for a child who already has an OSCaR client is refused with 422
"Record was found." (API.md §2.3). Every ``""`` is read as blank.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from oscar_sim.blank import is_blank, presence, text, truthy
from oscar_sim.catalogue import (
    CLIENT_STATUSES,
    LEVELS_OF_RISK,
    REFERRAL_STATUS_UPDATES,
    SERVICE_NAME_SET,
)
from oscar_sim.records import Client, Referral
from oscar_sim.reply import RECORD_ERROR, RECORD_SAVED, Reply
from oscar_sim.store import OscarStore

PERMITTED = (
    "global_id", "external_id", "external_id_display", "mosvy_number", "given_name",
    "family_name", "gender", "date_of_birth", "location_current_village_code",
    "address_current_village_code", "reason_for_referral", "reason_for_exiting",
    "organization_id", "organization_name", "external_case_worker_name",
    "external_case_worker_id", "external_case_worker_mobile", "external_case_worker_email",
    "level_of_risk", "is_referred", "referral_status", "services",
)  # fmt: skip
BAD_STATUS = "Referral status must be one of ['Accepted', 'Exited', 'Referred']."
CANT_BE_BLANK = "can't be blank"
NOT_IN_LIST = "is not included in the list"


def upsert(store: OscarStore, body: Any, external_system: str | None, now: datetime) -> Reply:
    organization = body.get("organization") if isinstance(body, Mapping) else None
    if not isinstance(organization, Mapping) or is_blank(organization.get("organization_name")):
        return Reply(422, {"message": RECORD_ERROR})
    params = {key: presence(organization.get(key)) for key in PERMITTED}
    if store.tenants.get(str(params["organization_name"])) is None:
        return Reply.crash()  # Organization.switch_to raises on an unknown tenant
    global_id = text(params["global_id"])
    if global_id is not None and global_id in store.global_ids:
        return _known_child(store, params, global_id, external_system, now)
    return _first_referral(store, params, global_id, external_system, now)


def _known_child(
    store: OscarStore,
    params: dict[str, Any],
    global_id: str,
    external_system: str | None,
    now: datetime,
) -> Reply:
    external_id = text(params["external_id"])
    tenant = str(params["organization_name"])
    if truthy(params["is_referred"]):
        created = _create_referral(store, params, global_id, external_system, now)
        if isinstance(created, Reply):
            return created
    client = store.client_in_tenant(global_id, tenant)
    if client is None:
        return Reply.crash()  # render_client_data dereferences nil
    _update_client(client, params, now)
    status = text(params["referral_status"])
    if status is not None:
        if status not in REFERRAL_STATUS_UPDATES:
            return Reply(422, {"external_id": external_id, "message": BAD_STATUS})
        latest = max(
            (
                r
                for r in store.referrals_for(global_id)
                if r.direction == "inbound"
                and r.tenant == tenant
                and r.external_system == external_system
            ),
            key=lambda r: r.id,
            default=None,
        )
        if latest is not None:
            latest.referral_status = status
    return Reply(200, {"external_id": external_id, "message": RECORD_SAVED})


def _first_referral(
    store: OscarStore,
    params: dict[str, Any],
    global_id: str | None,
    external_system: str | None,
    now: datetime,
) -> Reply:
    external_id = text(params["external_id"])
    found = store.inbound_by_external_id(external_id) if external_id else []
    if any(_has_client(store, r) for r in found):
        return Reply(
            422,
            {
                "external_id": external_id,
                "message": "Record was found.",
                "errors": {
                    "global_id": "global_id must exist.",
                    "referral_status": "referral_status must be present.",
                },
            },
        )
    if found:
        client_global_id = found[-1].client_global_id
    elif global_id is not None:
        client_global_id = global_id  # unknown: saved, then GlobalIdentity.find_by -> nil
    else:
        client_global_id = store.mint_global_id(now)
    created = _create_referral(store, params, client_global_id, external_system, now)
    if isinstance(created, Reply):
        return created
    if not found and global_id is not None:
        return Reply.crash()
    return Reply(200, {"external_id": external_id, "message": RECORD_SAVED})


def _has_client(store: OscarStore, referral: Referral) -> bool:
    if referral.client_id is not None:
        return True
    return store.client_in_tenant(referral.client_global_id, referral.tenant) is not None


def _create_referral(
    store: OscarStore,
    params: dict[str, Any],
    client_global_id: str,
    external_system: str | None,
    now: datetime,
) -> Referral | Reply:
    errors: dict[str, list[str]] = {}
    given, family = text(params["given_name"]), text(params["family_name"])
    if given is None or family is None:
        errors["client_name"] = [CANT_BE_BLANK]
    if external_system is None:
        errors["referred_from"] = [CANT_BE_BLANK]
    referee = text(params["external_case_worker_name"])
    if referee is None:
        errors["name_of_referee"] = [CANT_BE_BLANK]
    phone = text(params["external_case_worker_mobile"])
    if phone is None:
        errors["referral_phone"] = [CANT_BE_BLANK]
    status = text(params["referral_status"]) or "Referred"
    if status not in CLIENT_STATUSES:
        errors["referral_status"] = [NOT_IN_LIST]
    risk = text(params["level_of_risk"])
    if risk is not None and risk not in LEVELS_OF_RISK:
        errors["level_of_risk"] = [NOT_IN_LIST]
    services = [
        (str(s.get("uuid") or ""), str(s["name"]))
        for s in params["services"] or ()
        if isinstance(s, Mapping) and s.get("name") in SERVICE_NAME_SET
    ]
    if not services:
        errors["services"] = [CANT_BE_BLANK]
    if errors:
        return Reply(422, {"external_id": text(params["external_id"]), "message": errors})
    referral = Referral(
        id=store.next_referral_id(),
        direction="inbound",
        client_global_id=client_global_id,
        external_system=str(external_system),
        tenant=str(params["organization_name"]),
        services=services,
        referral_status=status,
        created_at=now,
        external_id=text(params["external_id"]),
        external_id_display=text(params["external_id_display"]),
        level_of_risk=risk,
        reason=text(params["reason_for_referral"]) or "N/A",
        given_name=given,
        family_name=family,
        gender=text(params["gender"]),
        date_of_birth=text(params["date_of_birth"]),
        location_code=_location(params) or "",
        mosvy_number=text(params["mosvy_number"]),
        name_of_referee=referee,
        referral_phone=phone,
    )
    return store.add_referral(referral)


def _location(params: dict[str, Any]) -> str | None:
    return text(params["address_current_village_code"]) or text(
        params["location_current_village_code"]
    )


def _update_client(client: Client, params: dict[str, Any], now: datetime) -> None:
    """get_client_attribute: overwrite from the payload; blank values leave fields alone."""
    for field, key in (
        ("given_name", "given_name"),
        ("family_name", "family_name"),
        ("gender", "gender"),
        ("date_of_birth", "date_of_birth"),
        ("mosvy_number", "mosvy_number"),
        ("external_id", "external_id"),
        ("external_id_display", "external_id_display"),
        ("external_case_worker_name", "external_case_worker_name"),
        ("external_case_worker_id", "external_case_worker_id"),
    ):
        value = text(params[key])
        if value is not None:
            setattr(client, field, value)
    location = _location(params)
    if location is not None:
        client.location_code = location
    client.synced_date = now.date()
    client.updated_at = now
