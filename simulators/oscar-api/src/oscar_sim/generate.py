"""Synthetic OSCaR clients, deterministic by seed, in both ``GET /clients`` shapes.

Each record is a feed item plus the sim-only keys ``created_at``, ``updated_at`` and
``referred_external`` that ``OscarStore.ingest`` understands. Names are Khmer with English
transliterations; location codes use Cambodia's real province codes; service names come
from the OSCaR service list; referral services cycle through every client status. A
small share of clients is deliberately incomplete (no name, gender or DOB) so the feed's
exclusion rule has something to exclude. No I/O; about 10 µs per record.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from oscar_sim.catalogue import (
    CLIENT_STATUSES,
    LEVELS_OF_RISK,
    PROVINCE_CODES,
    SERVICE_NAMES,
    default_tenants,
    service_uuid,
)
from oscar_sim.identifiers import ulid, uuid_from

# (transliteration, Khmer script)
GIVEN_NAMES = (
    ("Sophea", "សុភា"), ("Dara", "ដារ៉ា"), ("Sokha", "សុខា"), ("Bopha", "បុប្ផា"),
    ("Pich", "ពេជ្រ"), ("Rith", "រិទ្ធ"), ("Veasna", "វាសនា"), ("Chenda", "ចិន្តា"),
    ("Nary", "ណារី"), ("Mony", "មុនី"), ("Ratanak", "រតនៈ"), ("Sovann", "សុវណ្ណ"),
    ("Kosal", "កុសល"), ("Phalla", "ផល្លា"), ("Thida", "ធីតា"), ("Vibol", "វិបុល"),
    ("Sreymom", "ស្រីមុំ"), ("Vuthy", "វុទ្ធី"), ("Kanha", "កញ្ញា"), ("Piseth", "ពិសិដ្ឋ"),
)  # fmt: skip
FAMILY_NAMES = (
    ("Sok", "សុខ"), ("Chan", "ចាន់"), ("Kim", "គីម"), ("Heng", "ហេង"), ("Lim", "លីម"),
    ("Keo", "កែវ"), ("Meas", "មាស"), ("Ouk", "អ៊ុក"), ("Pen", "ប៉ែន"), ("Som", "សំ"),
    ("Tep", "ទេព"), ("Touch", "ទូច"), ("Yim", "យឹម"), ("Chea", "ជា"), ("Phan", "ផាន"),
    ("Ly", "លី"), ("Seng", "សេង"), ("Nhem", "ញឹម"),
)  # fmt: skip
PROGRAMS = ("Family Support", "Foster Care", "ABLE", "Education", "Community Care")
GENDER_WEIGHTS = (
    ("female", 46), ("male", 46), ("other", 3), ("lgbt", 2), ("unknown", 2),
    ("prefer_not_to_say", 1),
)  # fmt: skip
REASONS = (
    "Needs family-based care assessment",
    "Suffered traumatic event; need additional support",
    "Family tracing requested",
    "School drop-out risk",
)
DEFAULT_NOW = datetime(2025, 3, 20, tzinfo=UTC)
T = TypeVar("T")
SLUG_PREFIXES = tuple(a + b + c for a in "bdkmqrstvw" for b in "aeiou" for c in "jkmxyz")


def _below(rng: random.Random, n: int) -> int:
    """``randrange(n)`` at a third of the cost; the bias is irrelevant for fixtures."""
    return int(rng.random() * n)


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]


def location_code(rng: random.Random) -> str:
    """Province-district-commune-village, zero-padded; sometimes only down to commune."""
    province = _pick(rng, PROVINCE_CODES)
    commune = f"{province}{_below(rng, 14) + 1:02d}{_below(rng, 9) + 1:02d}"
    return commune if rng.random() < 0.03 else f"{commune}{_below(rng, 20) + 1:02d}"


def generate_clients(
    count: int,
    *,
    seed: int = 0,
    now: datetime | None = None,
    referred_share: float = 0.25,
    linked_share: float = 0.3,
    incomplete_share: float = 0.03,
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = now or DEFAULT_NOW
    tenants = [t for t in default_tenants() if t.integrated]
    gender_pool = [g for g, weight in GENDER_WEIGHTS for _ in range(weight)]
    now_ms = int(now.timestamp() * 1000)
    referral_id = 100_000
    records: list[dict[str, Any]] = []
    for number in range(1, count + 1):
        given, family = _pick(rng, GIVEN_NAMES), _pick(rng, FAMILY_NAMES)
        script = rng.random()
        created = now - timedelta(seconds=_below(rng, 365 * 86400))
        updated = created + timedelta(seconds=rng.random() * (now - created).total_seconds())
        tenant = _pick(rng, tenants)
        age_days = 30 + _below(rng, 18 * 365 - 30)
        record: dict[str, Any] = {
            "given_name": given[0] if script < 0.9 else None,
            "family_name": family[0] if script < 0.9 else None,
            "local_given_name": given[1] if script > 0.2 else None,
            "local_family_name": family[1] if script > 0.2 else None,
            "gender": _pick(rng, gender_pool),
            "date_of_birth": (now - timedelta(days=age_days)).date().isoformat(),
            "global_id": ulid(now_ms - _below(rng, 10**10), rng),
            "slug": f"{_pick(rng, SLUG_PREFIXES)}-{number}",
            "status": _pick(rng, CLIENT_STATUSES),
            "mosvy_number": f"MOSVY-{1 + _below(rng, 99999):05d}" if rng.random() < 0.2 else "",
            "location_current_village_code": location_code(rng),
            "case_worker_name": f"Case Worker {1 + _below(rng, 400)}",
            "case_worker_mobile": f"0{10 + _below(rng, 90)} {100000 + _below(rng, 900000)}",
            "organization_name": tenant.name,
            "organization_address_code": tenant.address_code,
            "created_at": created.isoformat(),
            "updated_at": updated.isoformat(),
        }
        services: list[dict[str, Any]] = []
        for _ in range(_pick(rng, (0, 0, 1, 1, 2, 3))):
            name = _pick(rng, SERVICE_NAMES)
            enrolled = created + timedelta(days=_below(rng, 31))
            services.append(
                {
                    "program_name": _pick(rng, PROGRAMS),
                    "enrollment_date": enrolled.date().isoformat(),
                    "uuid": service_uuid(name),
                    "name": name,
                }
            )
        if rng.random() < linked_share:
            case_id = uuid_from(rng)
            record["external_id"], record["external_id_display"] = case_id, case_id[-7:]
            for _ in range(_pick(rng, (1, 1, 2))):
                name = _pick(rng, SERVICE_NAMES)
                services.append(
                    {
                        "program_name": None,
                        "enrollment_date": None,
                        "uuid": service_uuid(name),
                        "name": name,
                        "referral_id": referral_id,
                        "referral_status": CLIENT_STATUSES[referral_id % len(CLIENT_STATUSES)],
                    }
                )
                referral_id += 1
        else:
            record["external_id"], record["external_id_display"] = "", ""
        record["services"] = services
        if rng.random() < referred_share:
            record["referred_external"] = True
            record["organization_id"] = tenant.id
            record["address_current_village_code"] = record["location_current_village_code"]
            record["reason_for_referral"] = _pick(rng, REASONS)
            record["level_of_risk"] = _pick(rng, LEVELS_OF_RISK)
            record["referral_consent_form"] = [
                f"https://assets.example.org/uploads/referral/consent_form/{number}/consent.png"
            ]
            record["external_case_worker_name"] = None
            record["external_case_worker_id"] = None
        else:
            record["referred_external"] = False
        if rng.random() < incomplete_share:
            record[_pick(rng, ("gender", "date_of_birth", "given_name"))] = None
            record["local_given_name"] = None
        records.append(record)
    return records
