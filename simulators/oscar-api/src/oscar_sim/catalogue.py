"""OSCaR's fixed vocabularies: statuses, genders, risk levels, the service list, tenants.

Values come from ``shared/reference`` (API.md §2.3-2.4 and the Cambodia mapping tables).
Service uuids are catalogue ids shared by every client, so they are derived from the name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

CLIENT_STATUSES = ("Accepted", "Active", "Exited", "Referred")
# What upsert (branch A) and update_statuses accept for a referral.
REFERRAL_STATUS_UPDATES = ("Accepted", "Exited", "Referred")
GENDERS = ("female", "male", "lgbt", "unknown", "prefer_not_to_say", "other")
LEVELS_OF_RISK = ("high", "medium", "low", "no action")

# OSCaR service names (the keys of cambodia-service-map-oscar-to-primero.json). Upsert
# matches services by these names; anything else (e.g. "Not Specified") fails validation.
SERVICE_NAMES = (
    "Generalist social work / case work",
    "Community social work",
    "Emergency foster care",
    "Long term foster care",
    "Kinship care",
    "Domestic adoption support",
    "Family preservation",
    "Family reunification",
    "Independent Living",
    "Drug and Alcohol Counselling",
    "Detox / rehabilitation services",
    "Detox support",
    "Generalist counselling",
    "Counselling for abuse survivors",
    "Trauma counselling",
    "Family counselling / mediation",
    "Direct material assistance",
    "Direct financial assistance",
    "Income generation services",
    "Day care services",
    "Therapeutic interventions",
    "Disability respite care",
    "Therapeutic training",
    "Disability-aid provision",
    "Peripheral supports",
    "Support groups",
    "Support to access care",
    "Provision of medical care",
    "Medical training services",
    "Health education",
    "Support to access legal services",
    "Legal advocacy services",
    "Legal representation",
    "Prison visitation support",
    "Direct medical support",
    "School support",
    "Supplementary school education",
    "Vocational education and training",
    "Material support for education (uniforms, etc)",
    "Scholarships or financial support",
    "Life skills",
    "Family support",
    "Rescue Services",
    "Transitional Accommodation",
    "Post-Trafficking Counseling",
    "Community Reintegration Support",
    "Residential Care Institution",
    "Other Service",
)
SERVICE_NAME_SET = frozenset(SERVICE_NAMES)

_SERVICE_NAMESPACE = uuid.UUID("6f1c1c1e-6a55-4f0b-9a0e-0f5c2a7b0c51")


def service_uuid(name: str) -> str:
    """Stable catalogue uuid for a service name (the same on every client)."""
    known = _SERVICE_UUIDS.get(name)
    return known if known is not None else str(uuid.uuid5(_SERVICE_NAMESPACE, name))


_SERVICE_UUIDS = {name: str(uuid.uuid5(_SERVICE_NAMESPACE, name)) for name in SERVICE_NAMES}


# Cambodian province codes 01-25 (cambodia-province-users.json keys, plus 19 Stung Treng,
# which the mapping lacks and so exercises the "Province user not found" path).
PROVINCE_CODES = tuple(f"{n:02d}" for n in range(1, 26))


@dataclass(frozen=True, slots=True)
class Tenant:
    """An OSCaR NGO schema. Only ``integrated`` tenants appear in the /clients feed."""

    name: str
    id: int
    address_code: str
    integrated: bool = True


# Short names from cambodia-agency-users.json ("agency-<name>"); cif id and address code
# from the captured feed; "training" is a non-integrated tenant the feed must skip.
_TENANT_NAMES = (
    "gpc", "tpo", "eao", "goh", "sk", "colt", "kt", "ea", "fsi", "oec", "cct", "cfi",
    "css", "cwd", "holt", "isf", "kmr", "mho", "msl", "mtp", "tlc", "tmw", "wmo",
)  # fmt: skip


def default_tenants() -> tuple[Tenant, ...]:
    tenants = [Tenant("cif", 46, "120611"), Tenant("demo", 7, "")]
    for index, name in enumerate(_TENANT_NAMES):
        province = PROVINCE_CODES[index % len(PROVINCE_CODES)]
        tenants.append(Tenant(name, 100 + index, f"{province}{index % 9 + 1:02d}01"))
    tenants.append(Tenant("training", 99, "120101", integrated=False))
    return tuple(tenants)
