"""Which Primero service an OSCaR decision answers (transformer README, `referral_decision`).

Precedence, first rule that finds a row wins:
(a) the service whose `oscar_referral_id_a4ac8a5` is the decision's OSCaR referral id;
(b) else the first pending `referral_to_oscar` service whose first subtype is the decision's;
(c) only for an OSCaR "Not Specified" service (subtype null): the first pending
    `referral_to_oscar` service with an empty subtype.
A row matched by one decision is not offered to the next (two decisions, two services).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PENDING = "pending_310366"
REFERRAL_TO_OSCAR = "referral_to_oscar"

Row = Mapping[str, Any]


def match_service(decision: Mapping[str, Any], rows: Iterable[Row], taken: set[str]) -> Row | None:
    """The service row `decision` answers, among rows not yet `taken`, or None."""
    free = [r for r in rows if r.get("unique_id") and str(r["unique_id"]) not in taken]
    referral_id = decision.get("oscar_referral_id")
    if referral_id:
        for row in free:
            if str(row.get("oscar_referral_id_a4ac8a5") or "") == str(referral_id):
                return row
    pending = [
        r
        for r in free
        if r.get("referral_status_edf41f2") == PENDING
        and r.get("service_response_type") == REFERRAL_TO_OSCAR
    ]
    subtype = decision.get("service_subtype")
    if subtype is not None:
        return next((r for r in pending if _first_subtype(r) == subtype), None)
    return next((r for r in pending if not _first_subtype(r)), None)


def _first_subtype(row: Row) -> Any:
    subtypes = row.get("service_subtype")
    if isinstance(subtypes, list):
        return subtypes[0] if subtypes else None
    return subtypes or None


def changed_fields(row: Row, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields whose value differs from the row's (nothing to send when empty)."""
    return {k: v for k, v in fields.items() if row.get(k) != v}
