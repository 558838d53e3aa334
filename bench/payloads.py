"""Synthetic ~3 KB Primero-like case payloads for the benchmarks (no real child data)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

_GIVEN = ["Sokha", "Dara", "Srey Neang", "Vannak", "Chenda", "Rithy", "Sophea", "Bopha"]
_FAMILY = ["Chan", "Sok", "Kim", "Heng", "Ly", "Meas", "Phan", "Touch"]
_CONCERNS = ["neglect", "physical_abuse", "child_labour", "trafficking", "separated", "caafag"]
_SERVICES = ["health_medical", "education_formal", "psychosocial_support", "legal_aid", "shelter"]
_PROVINCES = ["KH01", "KH02", "KH12", "KH17", "KH19", "KH21"]


def case_payload(i: int) -> dict[str, Any]:
    """One case record; deterministic by index; about 3 KB as JSON."""
    rng = random.Random(i)
    updated = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i * 13)
    case_id = f"{i:08x}-1b2c-4d5e-8f90-{(i * 7919) % 10**12:012d}"
    return {
        "id": case_id,
        "case_id": case_id,
        "case_id_display": case_id[:7],
        "short_id": f"{i:07x}",
        "record_state": True,
        "status": rng.choice(["open", "closed"]),
        "workflow": rng.choice(["new", "case_plan", "service_provision", "closed"]),
        "name_first": rng.choice(_GIVEN),
        "name_last": rng.choice(_FAMILY),
        "sex": rng.choice(["female", "male"]),
        "age": rng.randint(0, 17),
        "date_of_birth": f"{2008 + rng.randint(0, 17)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        "registration_date": "2025-03-14",
        "location_current": rng.choice(_PROVINCES) + f"{rng.randint(1, 20):02d}",
        "owned_by": f"cp_worker_{rng.randint(1, 200)}",
        "owned_by_agency_id": f"agency-{rng.randint(1, 20)}",
        "assigned_user_names": [f"cp_worker_{rng.randint(1, 200)}" for _ in range(2)],
        "risk_level": rng.choice(["low", "medium", "high"]),
        "protection_concerns": rng.sample(_CONCERNS, 3),
        "consent_for_services": True,
        "disclosure_other_orgs": True,
        "last_updated_at": updated.isoformat().replace("+00:00", "Z"),
        "created_at": "2025-03-14T08:00:00.000Z",
        "services_section": [
            {
                "unique_id": f"svc-{i}-{k}",
                "service_type": rng.choice(_SERVICES),
                "service_response_type": "referral_to_oscar",
                "service_implementing_agency": f"agency-{rng.randint(1, 20)}",
                "service_referral_notes": "x" * 200,
                "service_response_day_time": "2025-04-01T09:00:00.000Z",
            }
            for k in range(3)
        ],
        "family_details_section": [
            {
                "unique_id": f"fam-{i}-{k}",
                "relation": rng.choice(["mother", "father", "aunt", "grandparent"]),
                "relation_name": f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}",
                "relation_is_caregiver": k == 0,
            }
            for k in range(3)
        ],
        "notes_section": [{"note_subject": "visit", "note_text": "y" * 300}],
    }
