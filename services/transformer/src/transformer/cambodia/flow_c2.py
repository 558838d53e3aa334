"""Flow C2, OSCaR -> Primero: one OSCaR client (either record shape) in, Primero commands out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from casebridge.messages import RawRecord, UpsertCommand
from transformer.cambodia.case_record import (
    REFERRAL_FROM_OSCAR,
    REFERRAL_TO_OSCAR,
    case_fields,
    is_linked,
    response_type,
    service_row,
)
from transformer.cambodia.commands import CommandMaker
from transformer.cambodia.oscar_decision import decided_services, decision
from transformer.cambodia.owner import owned_by
from transformer.cambodia.tables import CambodiaTables
from transformer.mapping_gap import MappingGap

PRIMERO = "primero"
PENDING = "pending_310366"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def map_c2(raw: RawRecord, tables: CambodiaTables) -> list[UpsertCommand]:
    """The case upsert, then the pending-status fill, then (linked clients) OSCaR's decisions.

    Any gap rejects the whole client, with every gap in the reason (see `map_c1`).
    """
    client = raw.payload
    global_id = client.get("global_id")
    client_ref = str(global_id or raw.source.record_id)
    if not global_id:
        raise MappingGap(f"OSCaR client {client_ref} has no global_id")
    gaps: list[str] = []
    rows = [
        service_row(client, service, tables)
        for service in client.get("services") or []
        if response_type(client, service) != REFERRAL_TO_OSCAR
        and _has_catalogue_uuid(service, client_ref, gaps)
    ]
    data = case_fields(client, tables, raw.produced_at.date())
    owner = owned_by(client, client_ref, tables, gaps)
    if owner is not None:
        data["owned_by"] = owner
    if rows:
        data["services_section"] = rows
    if gaps:
        raise MappingGap("; ".join(gaps))
    key = (
        {"case_id": str(client["external_id"])}
        if is_linked(client)
        else {"oscar_number": client_ref}
    )
    make = CommandMaker(raw, tables)
    commands = [make(PRIMERO, "case_upsert", key, {"data": data})]
    pending = [
        {"unique_id": row["unique_id"], "referral_status_edf41f2": PENDING}
        for row in rows
        if row["service_response_type"] == REFERRAL_FROM_OSCAR
        and "referral_status_edf41f2" not in row
    ]
    if pending:
        commands.append(
            make(PRIMERO, "service_status_fill", key, {"data": {"services_section": pending}})
        )
    decided = decided_services(client, tables) if client.get("resource") == "primero" else []
    if decided and is_linked(client):
        commands.append(
            make(
                PRIMERO,
                "referral_decision",
                {"case_id": str(client["external_id"])},
                {"decisions": [decision(client, service, tables) for service in decided]},
            )
        )
    return commands


def _has_catalogue_uuid(service: Mapping[str, Any], client_ref: str, gaps: list[str]) -> bool:
    """Primero merges service rows by uuid, so a row without a valid one would repeat forever."""
    uuid = service.get("uuid")
    if not uuid:
        gaps.append(f"OSCaR service {service.get('name')!s} without uuid on client {client_ref}")
    elif not _UUID.match(str(uuid)):
        gaps.append(f"OSCaR service uuid {uuid} on client {client_ref} is not a lowercase UUID")
    return bool(uuid)
