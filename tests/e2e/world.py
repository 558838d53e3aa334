"""The data the end-to-end tests seed into the simulators, through their control surfaces.

The reference world: Primero holds the reference sample cases (`/__sim/seed samples`) plus one
case that OSCaR knows but that was never referred (the links sample, MAPPINGS A.2.5); OSCaR holds
the two children those cases name, so every C1 write of the samples is one OSCaR accepts.
"""

from __future__ import annotations

from typing import Any

#: Sample case 2 (record id, case_id): referred to the NGO `cif`, decided OSCaR referral 1193.
TIKWIZA = "3f1c2b9e-6a7d-4e21-9b0c-1d2e3f4a5b6c"
TIKWIZA_CASE_ID = "aac935f2-5e01-450b-8575-423915a04e68"
TIKWIZA_GLOBAL_ID = "01GA9PSXKEMHVWH7HQZ7XXCRJC"
#: The Gambella sample case with an open referral and no agency at all (a mapping gap).
GAMBELLA_CASE_ID = "b30cba6b-8d97-4524-b77f-a8f50cfcc974"
GAMBELLA_SERVICE = "5c2d4f6c-7a78-43b5-ac40-eb097be51d89"
#: The links sample (oscar-api-payloads.json record 3): known to OSCaR, never referred.
LINKED_CASE_ID = "cf824079-ab8e-4ac4-aac7-4ee58b99939a"
LINKED_GLOBAL_ID = "01ER422T8EKDG3A5RM15B39SA5"


def linked_case() -> dict[str, Any]:
    """A Primero case that carries an OSCaR id and has no referral to OSCaR."""
    return {
        "case_id": LINKED_CASE_ID,
        "module_id": "primeromodule-cp",
        "name_first": "Dara",
        "name_last": "Sok",
        "sex": "male",
        "date_of_birth": "2012-03-04",
        "oscar_number": LINKED_GLOBAL_ID,
        "consent_for_services": True,
        "disclosure_other_orgs": True,
    }


def oscar_children() -> list[dict[str, Any]]:
    """OSCaR's side of the reference world (feed-shaped items for `/__sim/seed records`)."""
    return [
        {  # sample case 2's child, linked, with the OSCaR referral 1193 Primero decided on
            "global_id": TIKWIZA_GLOBAL_ID,
            "slug": "tikw-1001",
            "external_id": TIKWIZA_CASE_ID,
            "external_id_display": "5a04e68",
            "given_name": "Tikwiza",
            "family_name": "Quin",
            "gender": "female",
            "date_of_birth": "2015-01-01",
            "location_current_village_code": "10060805",
            "organization_name": "cif",
            "status": "Active",
            "services": [
                {
                    "uuid": "0f0a3165-baf3-4b2d-b931-e002cb447df6",
                    "name": "Long term foster care",
                    "referral_id": 1193,
                    "referral_status": "Referred",
                }
            ],
        },
        {  # the links sample's child, not linked yet
            "global_id": LINKED_GLOBAL_ID,
            "slug": "dara-1002",
            "given_name": "Dara",
            "family_name": "Sok",
            "gender": "male",
            "date_of_birth": "2012-03-04",
            "location_current_village_code": "12010101",
            "organization_name": "cif",
            "status": "Active",
        },
    ]


def seed_reference_world(sims: Any) -> str:
    """Seed both simulators (blocking; call through `asyncio.to_thread`); returns the record id
    of the linked case."""
    sims.primero_control("POST", "/seed", {"source": "samples"})
    linked: str = sims.create_case(linked_case())
    sims.oscar_control("POST", "/seed", {"source": "records", "records": oscar_children()})
    return linked


def referral_to_oscar_case(
    *, name: str, service_id: str, subtype: str, location: str = "12020304"
) -> dict[str, Any]:
    """A new Primero case with one service to refer to the OSCaR NGO `cif`."""
    return {
        "module_id": "primeromodule-cp",
        "name_first": name,
        "name_last": "Chan",
        "sex": "female",
        "date_of_birth": "2014-05-06",
        "risk_level": "high",
        "location_current": location,
        "consent_for_services": True,
        "disclosure_other_orgs": True,
        "services_section": [
            {
                "unique_id": service_id,
                "service_type": subtype.rsplit("_", 1)[0],
                "service_subtype": [subtype],
                "service_response_type": "referral_to_oscar",
                "service_implementing_agency": "agency-cif",
                "referral_status_edf41f2": "pending_310366",
            }
        ],
    }
