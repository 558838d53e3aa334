"""Flow 2 decisions: OSCaR's answers on referrals Primero sent, for the Primero loader to apply.

Which Primero service and referral a decision belongs to is only known by reading the Primero
case, so the command carries the decision and how to find its service; the loader resolves
it (see the README, operation `referral_decision`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transformer.cambodia.case_record import REFERRAL_TO_OSCAR, response_type, service_row
from transformer.cambodia.tables import CambodiaTables


def decided_services(client: Mapping[str, Any], tables: CambodiaTables) -> list[Mapping[str, Any]]:
    """Services of a linked client that answer a Primero referral with a known decision."""
    return [
        service
        for service in client.get("services") or []
        if response_type(client, service) == REFERRAL_TO_OSCAR
        and tables.service_to_referral_status.get(
            tables.status_to_primero_service.get(str(service.get("referral_status")), "")
        )
    ]


#: Row fields a decision never writes: the row's id is the matched Primero row's, and its type
#: and subtype are the Primero user's (OSCaR's "Not Specified" is a placeholder, not a type).
_KEPT_FROM_PRIMERO = (
    "unique_id",
    "service_type",
    "service_subtype",
    "service_type_text",
    "service_type_details_text",
)


def decision(
    client: Mapping[str, Any], service: Mapping[str, Any], tables: CambodiaTables
) -> dict[str, Any]:
    """One decision: match criteria, the service fields to write, the referral PATCH template.

    The fields are the case path's row for this service (MAPPINGS A.3.4, A.3.5 step 5: the old
    job upserted the decision rows with the same record builder): status and OSCaR referral id,
    response type, OSCaR case worker name and phone, referring and implementing agency, notes.
    """
    service_status = tables.status_to_primero_service[str(service["referral_status"])]
    name = service.get("name")
    mapped = tables.services_to_primero.get(name) if isinstance(name, str) else None
    referral_id = service.get("referral_id")
    row = service_row(client, service, tables)
    fields = {k: v for k, v in row.items() if k not in _KEPT_FROM_PRIMERO}
    return {
        "oscar_referral_id": str(referral_id) if referral_id is not None else None,
        "service_subtype": mapped.subtype if mapped else None,
        "service": fields,
        "referral": {
            "data": {
                "status": tables.service_to_referral_status[service_status],
                "type": "Referral",
            }
        },
    }
