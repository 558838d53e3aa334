"""Checks before an OSCaR upsert for a child OSCaR already knows (branch A: `global_id` set).

oscar-web @9dd3a12e (`api/v1/organizations_controller.rb` `create_referral`,
`render_client_data`; `app/models/client.rb:143,902-925`):
- the referral is created only if the child has a client in the named organisation; without one
  OSCaR still answers 200 "Record saved." and creates nothing;
- the client of the child's first organisation is then overwritten with every permitted
  attribute, absent or blank ones as nil, and must keep a gender, else 422 after the referral
  was saved (a replay would duplicate it).

The feed (`GET /clients`) is the only way to read clients back and it cannot be filtered by id,
so it is read whole, and only for these upserts. A new branch-A referral is not visible in it
either (it is not linked to the client), so the condition OSCaR applies is checked first: the
child has a client in the named organisation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loader.errors import NotSent

#: Upsert field <- the feed item field that holds OSCaR's current value.
FILLABLE = {
    "given_name": "given_name",
    "family_name": "family_name",
    "gender": "gender",
    "date_of_birth": "date_of_birth",
    "mosvy_number": "mosvy_number",
    "location_current_village_code": "location_current_village_code",
    "address_current_village_code": "location_current_village_code",
    "external_case_worker_name": "external_case_worker_name",
    "external_case_worker_id": "external_case_worker_id",
}


def is_known_child_referral(organization: Mapping[str, Any]) -> bool:
    """A branch-A upsert that should create a referral."""
    return _present(organization.get("global_id")) and organization.get("is_referred") in (
        True,
        "true",
        "1",
        1,
    )


def checked_known_child(
    organization: Mapping[str, Any], feed: Sequence[Mapping[str, Any]], case_ref: str
) -> dict[str, Any]:
    """The body to send, blanks filled from OSCaR's own values; NotSent when OSCaR
    would create nothing or refuse the client update after saving the referral."""
    global_id = str(organization["global_id"])
    tenant = str(organization.get("organization_name") or "")
    clients = [item for item in feed if item.get("global_id") == global_id]
    if not any(item.get("organization_name") == tenant for item in clients):
        raise NotSent(
            f"OSCaR would create nothing: child {global_id} (case {case_ref}) has no client in"
            f" organisation {tenant} (OSCaR answers 200 without creating the referral); not sent."
            f" Replay once {tenant} has opened the child in OSCaR, or refer to an organisation"
            " that holds the child"
        )
    body = dict(organization)
    for field, source in FILLABLE.items():
        if _present(body.get(field)):
            continue
        current = {str(item[source]) for item in clients if _present(item.get(source))}
        if len(current) == 1:  # several clients that disagree: unknown which one OSCaR updates
            body[field] = current.pop()
        else:
            body.pop(field, None)
    if not _present(body.get("gender")):
        raise NotSent(
            f"OSCaR requires a gender for child {global_id} (case {case_ref}) and neither the case"
            " nor OSCaR has one; not sent (OSCaR would save the referral, then refuse, and a"
            " replay would duplicate it). Set the sex in Primero and replay"
        )
    return body


def _present(value: Any) -> bool:
    return value is not None and value is not False and str(value).strip() != ""
