"""Deterministic synthetic Primero cases and referrals, fast enough for 100k cases.

Two populations: Cambodian cases (Khmer-script and romanised names, village
codes seen in the reference samples, services and subtypes from the Cambodia
service table, OSCaR ids) and Gambella cases (UNHCR individual numbers, proGres
intervention numbers, the Gambella service option ids). Referrals cover every
transition status with consistent ``assigned_user_names``. Nothing runs at
import time; the same ``seed`` always yields the same data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

from primero_sim.clock import iso_ms_from_epoch
from primero_sim.ids import rng_uuid
from primero_sim.tables import load

Profile = Literal["mixed", "cambodia", "gambella"]
ANCHOR_EPOCH = 1742428800.0  # 2025-03-20T00:00:00Z: fixed so output depends only on the seed
YEAR_S = 365 * 86400.0
STATUSES = ("in_progress", "accepted", "rejected", "done", "revoked")

KHMER_GIVEN = (
    ("សុភា", "Sophea"), ("ដារ៉ា", "Dara"), ("សុខា", "Sokha"), ("ស្រីពៅ", "Sreypov"),
    ("វិចិត្រ", "Vichet"), ("បុប្ផា", "Bopha"), ("រតនា", "Ratana"), ("ពិសិដ្ឋ", "Piseth"),
    ("សុវណ្ណ", "Sovann"), ("ធីតា", "Thida"), ("ចន្ធូ", "Chanthou"), ("វណ្ណា", "Vanna"),
    ("សុផល", "Sophal"), ("ចាន់ណា", "Channa"), ("មករា", "Makara"), ("សំណាង", "Samnang"),
)  # fmt: skip
KHMER_FAMILY = (
    ("ចាន់", "Chan"), ("សុខ", "Sok"), ("កែវ", "Keo"), ("ហេង", "Heng"), ("លឹម", "Lim"),
    ("ញឹម", "Nhim"), ("ស៊ុន", "Sun"), ("ពៅ", "Pov"), ("មាស", "Meas"), ("អ៊ុក", "Ouk"),
    ("សេង", "Seng"), ("ទេព", "Tep"),
)  # fmt: skip
GAMBELLA_GIVEN = (
    "Nyakim", "Gatluak", "Nyaduoth", "Ojulu", "Okello", "Akway", "Chuol", "Nyabol", "Gatdet",
    "Lual", "Achol", "Omot", "Ochan", "Ariet", "Buay", "Nyamal",
)  # fmt: skip
GAMBELLA_FAMILY = (
    "Deng",
    "Chuol",
    "Gatkuoth",
    "Ojulu",
    "Omot",
    "Riek",
    "Puok",
    "Tut",
    "Lam",
    "Keat",
)
RISK = ("low", "medium", "high", "no_action")
WORKFLOWS = (
    "new",
    "case_plan",
    "assessment",
    "service_provision",
    "services_implemented",
    "closed",
)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass
class Generated:
    cases: list[dict[str, Any]] = field(default_factory=list)
    referrals: list[dict[str, Any]] = field(default_factory=list)


def _pick(rng: random.Random, pool: Any) -> Any:
    return pool[int(rng.random() * len(pool))]


def _ulid_like(rng: random.Random) -> str:
    """An OSCaR ``global_id`` lookalike: 26 Crockford base32 characters."""
    bits = rng.getrandbits(120)
    return "01" + "".join(CROCKFORD[(bits >> (5 * i)) & 31] for i in range(24))


def _primero_location(code: str) -> str:
    # Primero drops the leading zero of provinces 01-09 (MAPPINGS C.4: '1070101').
    return code[1:] if code.startswith("0") else code


class _Builder:
    def __init__(self, seed: int, profile: Profile, anchor: float) -> None:
        self.rng = random.Random(seed)
        self.profile = profile
        self.anchor = anchor
        tables = load("tables")
        self.cambodia_services: list[list[str]] = tables["cambodia_services"]
        self.gambella_services: list[str] = tables["gambella_service_types"]
        self.villages: list[str] = tables["cambodia_village_codes"]
        self.province_users: dict[str, str] = tables["cambodia_province_users"]
        self.agencies: list[str] = sorted(tables["cambodia_agency_users"])
        self.agency_users: dict[str, str] = tables["cambodia_agency_users"]
        self.concerns: list[str] = tables["protection_concerns"]
        self.disabilities: list[str] = tables["disability_types"]
        self.languages: list[str] = tables["gambella_languages"]
        #: OSCaR's referral ids are unique integers: one counter, not random draws that collide.
        self.next_oscar_referral_id = 1000
        self.out = Generated()

    def build(self, count: int) -> Generated:
        gambella_share = {"mixed": 0.3, "cambodia": 0.0, "gambella": 1.0}[self.profile]
        for index in range(count):
            if self.rng.random() < gambella_share:
                self._case(index, gambella=True)
            else:
                self._case(index, gambella=False)
        return self.out

    def _case(self, index: int, gambella: bool) -> None:
        rng, r = self.rng, self.rng.random
        created = self.anchor - r() * YEAR_S
        updated = created + r() * min(self.anchor - created, 90 * 86400.0)
        record_id, unique_identifier = rng_uuid(rng), rng_uuid(rng)
        age = int(r() * 18)
        created_iso = iso_ms_from_epoch(created)
        birth_year = int(created_iso[:4]) - age
        sex = "female" if r() < 0.5 else "male"
        case: dict[str, Any] = {
            "id": record_id,
            "enabled": True,
            "unique_identifier": unique_identifier,
            "case_id": unique_identifier,
            "short_id": unique_identifier[-7:],
            "case_id_display": unique_identifier[-7:],
            "module_id": "primeromodule-cp",
            "record_state": r() >= 0.05,
            "status": "closed" if r() < 0.1 else "open",
            "workflow": _pick(rng, WORKFLOWS),
            "registration_date": created_iso[:10],
            "sex": sex,
            "age": age,
            "date_of_birth": f"{birth_year:04d}-{1 + int(r() * 12):02d}-{1 + int(r() * 28):02d}",
            "risk_level": _pick(rng, RISK),
            "consent_for_services": r() < 0.9,
            "disclosure_other_orgs": r() < 0.9,
            "created_at": created_iso,
            "posted_at": created_iso,
            "last_updated_at": iso_ms_from_epoch(updated),
            "record_in_scope": True,
            "flag_count": 0,
            "alert_count": 0,
        }
        if gambella:
            self._gambella(case, index)
        else:
            self._cambodia(case)
        case["created_by"] = case["last_updated_by"] = case["owned_by"]
        case["associated_user_names"] = [case["owned_by"]]
        case["assigned_user_names"] = []
        self._referrals(case, created, updated)
        self.out.cases.append(case)

    def _cambodia(self, case: dict[str, Any]) -> None:
        rng, r = self.rng, self.rng.random
        given, family = _pick(rng, KHMER_GIVEN), _pick(rng, KHMER_FAMILY)
        script = 0 if r() < 0.5 else 1
        case["name_first"], case["name_last"] = given[script], family[script]
        case["name"] = f"{given[script]} {family[script]}"
        village = _pick(rng, self.villages)
        case["location_current"] = _primero_location(village)
        case["owned_by"] = self.province_users.get(village[:2], "openfn_cp_user")
        case["owned_by_agency_id"] = "agency-mosvy"
        case["owned_by_location"] = village[:2]
        case["protection_concerns"] = [_pick(rng, self.concerns) for _ in range(int(r() * 3))]
        if r() < 0.3:
            case["type_of_case"] = "children_undergoing_reintegration_55427"
        if r() < 0.1:
            case["disability_type"] = _pick(rng, self.disabilities)
        if r() < 0.4:
            case["oscar_number"] = _ulid_like(rng)
            case["mosvy_number"] = f"{int(r() * 9_999_999):07d}"
        rows = []
        for _ in range(int(r() * 4)):
            service_type, subtype = _pick(rng, self.cambodia_services)
            agency = _pick(rng, self.agencies)
            # A referral from OSCaR only exists on a case OSCaR knows (C2 created it from an
            # OSCaR client), i.e. one with an oscar_number.
            kinds = ("referral_to_oscar", "referral_from_oscar", "service_provision")
            kind = _pick(rng, kinds if case.get("oscar_number") else (kinds[0], kinds[2]))
            row: dict[str, Any] = {
                "unique_id": rng_uuid(rng),
                "service_response_type": kind,
                "service_type": service_type,
                "service_subtype": [subtype],
                "service_response_day_time": case["created_at"],
                "service_implementing_agency": agency,
                "service_implemented": "not_implemented",
            }
            if kind == "referral_from_oscar":
                row["oscar_referring_organization"] = agency
                row["oscar_referral_id_a4ac8a5"] = str(self.next_oscar_referral_id)
                self.next_oscar_referral_id += 1
                row["referral_status_edf41f2"] = _pick(
                    rng, ("pending_310366", "accepted_340953", "rejected_936484")
                )
            rows.append(row)
        case["services_section"] = rows

    def _gambella(self, case: dict[str, Any], index: int) -> None:
        rng, r = self.rng, self.rng.random
        given, family = _pick(rng, GAMBELLA_GIVEN), _pick(rng, GAMBELLA_FAMILY)
        case["name_first"], case["name_last"], case["name"] = given, family, f"{given} {family}"
        year = case["registration_date"][2:4]
        case["unhcr_individual_no"] = f"989-{index + 1:08d}"
        case["unhcr_id_no"] = f"989-{year}-{int(r() * 99999):05d}"
        case["language"] = [_pick(rng, self.languages)]
        case["address_current"] = "Gambela Agnuak Abobo"
        case["owned_by"] = _pick(rng, ("progresv4_primero_intake", "primero_cp"))
        case["owned_by_agency_id"] = "UNICEF"
        rows = []
        for _ in range(int(r() * 3)):
            to_unhcr = r() < 0.5
            row: dict[str, Any] = {
                "unique_id": rng_uuid(rng),
                "service_response_type": "service_provision",
                "service_type": _pick(rng, self.gambella_services),
                "service_response_day_time": case["created_at"],
                "service_implementing_agency": "UNHCR" if to_unhcr else "UNICEF",
                "service_implemented": "not_implemented",
            }
            if not to_unhcr:
                row["progres_interventionnumber"] = f"989-{year}-PRTITV-{int(r() * 9_999_999):07d}"
                row["unhcr_referral_status"] = _pick(rng, ("pending", "accepted", "rejected"))
                row["service_referral"] = "external_referral"
            rows.append(row)
        case["services_section"] = rows

    def _referrals(self, case: dict[str, Any], created: float, updated: float) -> None:
        rng, r = self.rng, self.rng.random
        for row in case["services_section"]:
            if r() >= 0.35:
                continue
            agency = row["service_implementing_agency"]
            target = (
                "unhcr_cw" if agency == "UNHCR" else self.agency_users.get(agency, "primero_cp")
            )
            status = _pick(rng, STATUSES)
            referral: dict[str, Any] = {
                "id": rng_uuid(rng),
                "type": "Referral",
                "status": status,
                "record_id": case["id"],
                "record_type": "case",
                "transitioned_by": case["owned_by"],
                "transitioned_to": target,
                "service": row["service_type"],
                "service_record_id": row["unique_id"],
                "notes": "Synthetic referral",
                "remote": False,
                "consent_overridden": False,
                "consent_individual_transfer": False,
                "record_owned_by": case["owned_by"],
                "created_at": iso_ms_from_epoch(created + (updated - created) * r()),
            }
            if status in ("accepted", "rejected", "done"):
                referral["responded_at"] = case["last_updated_at"]
            if status == "rejected":
                referral["rejected_reason"] = "Not able to provide the service"
            row["service_status_referred"] = True
            if status == "done":
                row["service_implemented"] = "implemented"
                row["service_implemented_day_time"] = case["last_updated_at"]
            if status in ("in_progress", "accepted") and target not in case["assigned_user_names"]:
                case["assigned_user_names"].append(target)
                case["associated_user_names"].append(target)
            self.out.referrals.append(referral)


def generate(
    count: int, seed: int = 42, profile: Profile = "mixed", anchor: float = ANCHOR_EPOCH
) -> Generated:
    """``count`` cases (and their referrals), identical for identical arguments."""
    return _Builder(seed, profile, anchor).build(count)
