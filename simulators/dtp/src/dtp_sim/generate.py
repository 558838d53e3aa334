"""Synthetic DTP -> casebridge webhook messages, deterministic by seed (no I/O).

Referral messages look like the Gambella samples: Dynamics ``entity.attribute`` keys,
EntityReference lookups, option-set codes as strings, JSON-encoded comment arrays and
proGres individual / registration-group / intervention numbers. Decision messages
cycle through every review-decision and rejection-reason code.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson

from dtp_sim.catalogue import (
    INTERVENTION_TYPES,
    LANGUAGES,
    LOCATION_LEVELS,
    PRIORITIES,
    REJECTION_REASONS,
    REVIEW_DECISIONS,
    SEX_CODES,
    UNSUPPORTED_INTERVENTION_TYPES,
)
from dtp_sim.endpoints import DECISION_WEBHOOK, REFERRAL_WEBHOOK

T = TypeVar("T")
GIVEN_NAMES = (
    "Nyakuoth", "Gatluak", "Nyabol", "Chol", "Nyandeng", "Ojulu", "Okello", "Akway",
    "Abang", "Lual", "Garang", "Nyachuol", "Ochan", "Omot", "Ariet", "Kuol", "Amina",
)  # fmt: skip
FAMILY_NAMES = (
    "Deng", "Gatkuoth", "Ojulu", "Okwier", "Chuol", "Puok", "Lam", "Riek", "Kong", "Opiew",
)  # fmt: skip
SITE_CODES = ("989", "811", "803")
DEFAULT_NOW = datetime(2025, 3, 20, tzinfo=UTC)


#: Accepted, rejected: what DTP's reviewers answer (REVIEW_DECISIONS also holds a code the
#: old job passed through raw, kept there to exercise that path).
ACCEPTED_OR_REJECTED = REVIEW_DECISIONS[:2]


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]


def _guid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _lookup(rng: random.Random, logical_name: str, name: str) -> dict[str, Any]:
    return {
        "Id": _guid(rng),
        "KeyAttributes": [],
        "LogicalName": logical_name,
        "Name": name,
        "RowVersion": None,
    }


def _dynamics_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT00:00:00Z")


def referral_intervention(
    rng: random.Random, number: int, now: datetime, unsupported: bool = False
) -> dict[str, Any]:
    site = _pick(rng, SITE_CODES)
    year = now.strftime("%y")
    started = now - timedelta(days=int(rng.random() * 30))
    born = now - timedelta(days=365 + int(rng.random() * 17 * 365))
    levels = _pick(rng, LOCATION_LEVELS)
    kind = _pick(rng, UNSUPPORTED_INTERVENTION_TYPES if unsupported else INTERVENTION_TYPES)
    comment = [
        {"CreatedBy": "UNHCR officer", "Text": "Needs follow-up", "CreatedOn": now.isoformat()}
    ]
    item: dict[str, Any] = {
        "progres_interventionnumber": f"{site}-{year}-PRTITV-{number:07d}",
        "progres_lpinterventionid": _guid(rng),
        "progres_interventionstartdate": _dynamics_date(started),
        "progres_interventiondescription": f"<p>{kind} referral</p>",
        "progres_reasonforreferral": orjson.dumps(comment).decode(),
        "progres_comments_nonrestrictedstore": orjson.dumps(comment).decode(),
        "progres_businessunit": _guid(rng),
        "progres_businessowner": _guid(rng),
        "progres_interventiontype2": _guid(rng),
        "interventiontype.progres_description": kind,
        "childprotection.progres_priority": _pick(rng, PRIORITIES),
        "individuals.progres_id": f"{site}-{int(rng.random() * 10**8):08d}",
        "individuals.progres_registrationgroupid": _lookup(
            rng, "progres_registrationgroup", f"{site}-{year}-{int(rng.random() * 10**5):05d}"
        ),
        "individuals.progres_givenname": _pick(rng, GIVEN_NAMES),
        "individuals.progres_familyname": _pick(rng, FAMILY_NAMES),
        "individuals.progres_dateofbirth": _dynamics_date(born),
        "individuals.progres_sex": _pick(rng, SEX_CODES),
        "individuals.progres_primaryphonenumber": f"+2519{int(rng.random() * 10**8):08d}",
        "individuals.progres_coalocationlevel1": _lookup(rng, "progres_locationlevel", levels[0]),
        "individuals.progres_coalocationlevel2": _lookup(rng, "progres_locationlevel", levels[1]),
        "individuals.progres_coalocationlevel3": _lookup(rng, "progres_locationlevel", levels[2]),
        "languages.progres_languagecodeid": _lookup(
            rng, "progres_languagecode", _pick(rng, LANGUAGES)
        ),
        "user.title": "Child Protection Officer",
        "user.internalemailaddress": f"cp.officer{number % 50}@example.org",
        "user.mobilephone": f"+2519{int(rng.random() * 10**8):08d}",
        "user.progres_partner": _lookup(rng, "account", "UNHCR"),
    }
    if rng.random() < 0.3:
        item["individuals.progres_middlename"] = _pick(rng, GIVEN_NAMES)
    if rng.random() < 0.2:
        item["individuals.progres_commonyusedname"] = _pick(rng, GIVEN_NAMES)[:4]
    return item


def generate_referral_messages(
    count: int,
    *,
    seed: int = 0,
    interventions_per_message: int = 1,
    unsupported_share: float = 0.0,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """``count`` webhook bodies of ``request_type`` PrimeroOutgoingReferral."""
    rng = random.Random(seed)
    now = now or DEFAULT_NOW
    messages: list[dict[str, Any]] = []
    number = 1
    for _ in range(count):
        interventions = []
        for _ in range(interventions_per_message):
            unsupported = rng.random() < unsupported_share
            interventions.append(referral_intervention(rng, number, now, unsupported))
            number += 1
        messages.append({"interventions": interventions, "request_type": REFERRAL_WEBHOOK})
    return messages


def decision_intervention(rng: random.Random, number: int, now: datetime) -> dict[str, Any]:
    decision = REVIEW_DECISIONS[number % len(REVIEW_DECISIONS)]
    case_id = _guid(rng)
    service_suffix = f"{rng.getrandbits(48):012x}"
    item: dict[str, Any] = {
        "progres_individualid": _guid(rng),
        "progres_interoperabilityreferralid": _guid(rng),
        "progres_interoperabilityreferralnumber": f"REF-IOP-DAD-{number:09d}",
        "progres_interoperabilityreferralrouteto": "125080001",
        "progres_interventiontype": _guid(rng),
        "progres_orgreferralid": f"{case_id}#{service_suffix}",
        "progres_reviewby": _guid(rng),
        "progres_reviewdate": _dynamics_date(now - timedelta(days=int(rng.random() * 10))),
        "progres_reviewdecision": decision,
    }
    if decision == "125080001":
        reason = REJECTION_REASONS[(number // len(REVIEW_DECISIONS)) % len(REJECTION_REASONS)]
        item["progres_interoperabiltyreferralrejectionreason"] = reason
        item["progres_interoperabilityreferralrejectionomment"] = "No record for this individual"
    return item


def decisions_answering(
    referral_ids: Sequence[str], *, seed: int = 0, now: datetime | None = None
) -> list[dict[str, Any]]:
    """One decision webhook per referral Primero sent (its `id`, echoed back as
    `progres_orgreferralid`, as DTP does), accepted or rejected (the two codes DTP answers
    with), so the decision flow can close the loop on referrals that really exist."""
    rng = random.Random(seed)
    now = now or DEFAULT_NOW
    messages = []
    for number, referral_id in enumerate(referral_ids, start=1):
        item = decision_intervention(rng, number, now)
        item["progres_orgreferralid"] = referral_id
        if item["progres_reviewdecision"] not in ACCEPTED_OR_REJECTED:
            item["progres_reviewdecision"] = ACCEPTED_OR_REJECTED[number % 2]
        messages.append({"interventions": [item], "request_type": DECISION_WEBHOOK})
    return messages


def generate_decision_messages(
    count: int, *, seed: int = 0, now: datetime | None = None
) -> list[dict[str, Any]]:
    """``count`` webhook bodies of ``request_type`` PrimeroIncomingReferralDecision."""
    rng = random.Random(seed)
    now = now or DEFAULT_NOW
    return [
        {"interventions": [decision_intervention(rng, n, now)], "request_type": DECISION_WEBHOOK}
        for n in range(1, count + 1)
    ]
