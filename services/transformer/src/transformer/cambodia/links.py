"""Flow 1 links: Primero ids written onto OSCaR clients that were not referred from Primero."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transformer.cambodia.oscar_values import oscar_string


def link_item(case: Mapping[str, Any]) -> dict[str, Any] | None:
    """The `update_links` item for a case known to OSCaR, unless it has a referral to OSCaR.

    Cases with a `referral_to_oscar` service get their ids through the referral upsert itself.
    """
    if not case.get("oscar_number"):
        return None
    services = case.get("services_section") or []
    if any(s.get("service_response_type") == "referral_to_oscar" for s in services):
        return None
    return {
        "external_id": oscar_string(case.get("case_id")),
        "external_id_display": oscar_string(case.get("case_id_display")),
        "global_id": oscar_string(case.get("oscar_number")),
        "is_referred": False,
    }
