"""``POST /clients/upsert``: one referral per call, branching on whether ``global_id`` is known.

Branch A (known ``global_id``, oscar-web @9dd3a12e ``api/v1/organizations_controller.rb``
``upsert``/``create_referral``/``render_client_data``): a new referral only when the child has
a client in the named organisation (else nothing, and still 200); then the client of the
child's FIRST organisation is overwritten with every permitted attribute (absent or blank ->
nil, ``Client.get_client_attribute``) and must keep a gender, so a refusal comes after the
referral was saved. A child with no client anywhere falls through to branch B.
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
    GENDERS,
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
    if truthy(params["is_referred"]) and store.client_in_tenant(global_id, tenant) is not None:
        created = _create_referral(store, params, global_id, external_system, now)
        if isinstance(created, Reply):
            return created
    # render_client_data: the client of the child's first organisation, whatever was named.
    client = store.first_client(global_id)
    if client is None:
        return _first_referral(store, params, global_id, external_system, now, known=True)
    invalid = _client_errors(params)
    if invalid:  # update_attributes failed: nothing written, the referral above stays
        return Reply(422, {"external_id": external_id, "message": invalid})
    _update_client(client, params, now)
    status = text(params["referral_status"])
    if status is not None:
        if status not in REFERRAL_STATUS_UPDATES:
            return Reply(422, {"external_id": client.external_id, "message": BAD_STATUS})
        latest = max(
            (
                r
                for r in store.referrals_for(global_id)
                if r.direction == "inbound"
                and r.tenant == client.tenant
                and r.external_system == external_system
            ),
            key=lambda r: r.id,
            default=None,
        )
        if latest is not None:
            latest.referral_status = status
    return Reply(200, {"external_id": client.external_id, "message": RECORD_SAVED})


def _first_referral(
    store: OscarStore,
    params: dict[str, Any],
    global_id: str | None,
    external_system: str | None,
    now: datetime,
    *,
    known: bool = False,
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
    if not found and global_id is not None and not known:
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
    if given is None and family is None:  # client_name: "given family".squish
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
    if risk is None:  # referral.rb:28, presence and inclusion (nil fails both)
        errors["level_of_risk"] = [CANT_BE_BLANK, NOT_IN_LIST]
    elif risk not in LEVELS_OF_RISK:
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


def _client_errors(params: dict[str, Any]) -> dict[str, list[str]]:
    """client.rb:143,146: a gender is required and must be one of OSCaR's options."""
    gender = text(params["gender"])
    if gender is None:
        return {"gender": [CANT_BE_BLANK]}
    if gender not in GENDERS:
        return {"gender": [NOT_IN_LIST]}
    return {}


def _update_client(client: Client, params: dict[str, Any], now: datetime) -> None:
    """Client.get_client_attribute: every attribute is written, absent or blank ones as nil.

    Local names and the reason are read from keys the controller never permits
    (``local_given_name``, ``referral_reason``), so they always become nil.
    """
    client.mosvy_number = text(params["mosvy_number"])
    client.given_name = text(params["given_name"])
    client.family_name = text(params["family_name"])
    client.local_given_name = None
    client.local_family_name = None
    client.gender = text(params["gender"])
    client.date_of_birth = text(params["date_of_birth"])
    client.reason_for_referral = None
    client.external_case_worker_id = text(params["external_case_worker_id"])
    client.external_case_worker_name = text(params["external_case_worker_name"])
    client.location_code = (
        text(params["address_current_village_code"])
        or text(params["location_current_village_code"])
        or ""
    )
    external_id = text(params["external_id"])
    if external_id is not None:
        client.external_id = external_id
        client.external_id_display = text(params["external_id_display"])
        client.synced_date = now.date()
    client.updated_at = now
