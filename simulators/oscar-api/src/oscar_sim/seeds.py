"""Seed records for the OSCaR simulator from the commands a run will send it (bench, chaos).

The children the generated Primero cases name by OSCaR id must exist in OSCaR, with the
referrals Primero decided on. OSCaR finds a child's referral statuses in its FIRST organisation
(REAL-SYSTEMS.md), so the clients holding referrals come first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def client_seeds(clients: Mapping[tuple[str, str], Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`{(global_id, organisation): body}` -> seed records; a body's `_referrals` lists the
    OSCaR referral ids Primero decided on (seeded as referrals of that client)."""
    seeds = []
    for (global_id, organization), body in clients.items():
        services = [
            {
                "uuid": f"00000000-0000-4000-8000-{referral_id:012d}",
                "name": "Generalist social work / case work",
                "referral_id": referral_id,
                "referral_status": "Referred",
            }
            for referral_id in body.get("_referrals", ())
        ]
        seeds.append(
            {
                "global_id": global_id,
                "given_name": body.get("given_name") or "A",
                "family_name": body.get("family_name") or "B",
                "gender": body.get("gender") or "female",
                "date_of_birth": body.get("date_of_birth") or "2015-01-01",
                "organization_name": organization,
                "services": services,
            }
        )
    seeds.sort(key=lambda seed: not seed["services"])
    return seeds
