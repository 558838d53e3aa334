"""Flow 1 decisions: Primero answers on OSCaR referrals, one `update_statuses` body per case."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transformer.cambodia.oscar_values import oscar_referral_id, oscar_string
from transformer.cambodia.tables import CambodiaTables

#: The OSCaR status a Primero service has before anyone decided; never sent.
UNDECIDED = "Referred"


def decision_items(
    case: Mapping[str, Any], case_ref: str, tables: CambodiaTables, gaps: list[str]
) -> list[dict[str, Any]]:
    """Items for services referred from OSCaR that Primero accepted or rejected.

    Re-sent on every change of the case: OSCaR's status update is idempotent. Without the
    case's `oscar_number` OSCaR cannot find the tenant of the referral (it switches to the
    tenant of `client_global_id`), so there are no items and the gap says why.
    """
    items = []
    for service in case.get("services_section") or []:
        if service.get("service_response_type") != "referral_from_oscar":
            continue
        status = tables.status_to_oscar.get(service.get("referral_status_edf41f2") or "", UNDECIDED)
        referral_id = oscar_referral_id(service.get("oscar_referral_id_a4ac8a5"))
        if status == UNDECIDED or referral_id is None:
            continue
        items.append(
            {
                "external_id": oscar_string(case.get("case_id")),
                "external_id_display": oscar_string(case.get("case_id_display")),
                "client_global_id": oscar_string(case.get("oscar_number")),
                "referral_status": status,
                "referral_id": referral_id,
            }
        )
    if items and not case.get("oscar_number"):
        gaps.append(f"case {case_ref} has OSCaR decisions but no oscar_number")
        return []
    return items
