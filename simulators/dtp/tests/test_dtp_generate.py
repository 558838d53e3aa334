"""The DTP message generator: deterministic, every code, Gambella-shaped, fast."""

from __future__ import annotations

import json
import time

from dtp_sim.catalogue import INTERVENTION_TYPES, REJECTION_REASONS, REVIEW_DECISIONS, SEX_CODES
from dtp_sim.generate import generate_decision_messages, generate_referral_messages

REQUIRED = (
    "interventiontype.progres_description",
    "individuals.progres_id",
    "individuals.progres_registrationgroupid",
    "individuals.progres_givenname",
    "individuals.progres_familyname",
    "individuals.progres_dateofbirth",
    "individuals.progres_sex",
)


def test_deterministic_by_seed():
    assert generate_referral_messages(50, seed=2) == generate_referral_messages(50, seed=2)
    assert generate_referral_messages(50, seed=2) != generate_referral_messages(50, seed=3)
    assert generate_decision_messages(50, seed=2) == generate_decision_messages(50, seed=2)


def test_referrals_carry_required_fields_and_mapped_codes():
    items = [i for m in generate_referral_messages(500, seed=1) for i in m["interventions"]]
    assert all(all(key in item for key in REQUIRED) for item in items)
    assert {i["interventiontype.progres_description"] for i in items} == set(INTERVENTION_TYPES)
    assert {i["individuals.progres_sex"] for i in items} == set(SEX_CODES)
    comments = json.loads(items[0]["progres_reasonforreferral"])
    assert set(comments[0]) == {"CreatedBy", "Text", "CreatedOn"}
    assert (
        items[0]["individuals.progres_registrationgroupid"]["LogicalName"]
        == "progres_registrationgroup"
    )


def test_unsupported_share_produces_delivery_fail_candidates():
    items = [
        i
        for m in generate_referral_messages(200, seed=1, unsupported_share=0.5)
        for i in m["interventions"]
    ]
    kinds = {i["interventiontype.progres_description"] for i in items}
    assert kinds - set(INTERVENTION_TYPES)


def test_decisions_cover_every_code():
    items = [m["interventions"][0] for m in generate_decision_messages(30, seed=1)]
    assert {i["progres_reviewdecision"] for i in items} == set(REVIEW_DECISIONS)
    reasons = {
        i["progres_interoperabiltyreferralrejectionreason"]
        for i in items
        if "progres_interoperabiltyreferralrejectionreason" in i
    }
    assert reasons == set(REJECTION_REASONS)
    case_id, suffix = items[0]["progres_orgreferralid"].split("#")
    assert len(case_id) == 36
    assert len(suffix) == 12


def test_hundred_thousand_messages_in_seconds():
    started = time.perf_counter()
    assert len(generate_decision_messages(100_000, seed=1)) == 100_000
    assert len(generate_referral_messages(20_000, seed=1)) == 20_000
    assert time.perf_counter() - started < 20
