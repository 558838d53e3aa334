"""The synthetic data generator: deterministic, realistic identifiers, every status."""

from __future__ import annotations

import re
import time

from primero_sim.generate import generate
from primero_sim.ids import UUID_RE
from primero_sim.tables import load


def test_same_seed_same_data_and_different_seed_different_data():
    assert generate(200, seed=5).cases == generate(200, seed=5).cases
    assert generate(200, seed=5).cases != generate(200, seed=6).cases


def test_identifiers_are_formatted_like_primero():
    for case in generate(300, seed=1).cases:
        assert UUID_RE.match(case["id"])
        assert UUID_RE.match(case["case_id"])
        assert case["short_id"] == case["unique_identifier"][-7:] == case["case_id_display"]
        for row in case["services_section"]:
            assert UUID_RE.match(row["unique_id"])


def test_cambodia_and_gambella_populations():
    tables = load("tables")
    services = {tuple(pair) for pair in tables["cambodia_services"]}
    villages = {code.lstrip("0") for code in tables["cambodia_village_codes"]}
    data = generate(2000, seed=2)
    khmer = re.compile(r"[\u1780-\u17FF]")
    cambodia = [c for c in data.cases if "unhcr_individual_no" not in c]
    gambella = [c for c in data.cases if "unhcr_individual_no" in c]
    assert cambodia
    assert gambella
    assert any(khmer.search(c["name_first"]) for c in cambodia)
    assert any(not khmer.search(c["name_first"]) for c in cambodia)
    for case in cambodia:
        assert case["location_current"].lstrip("0") in villages
        for row in case["services_section"]:
            assert (row["service_type"], row["service_subtype"][0]) in services
    for case in gambella:
        assert re.fullmatch(r"989-\d{8}", case["unhcr_individual_no"])
        for row in case["services_section"]:
            assert row["service_type"] in tables["gambella_service_types"]


def test_referrals_cover_every_status_and_assignments_are_consistent():
    data = generate(2000, seed=3)
    assert {r["status"] for r in data.referrals} == {
        "in_progress", "accepted", "rejected", "done", "revoked",
    }  # fmt: skip
    by_id = {c["id"]: c for c in data.cases}
    for referral in data.referrals:
        case = by_id[referral["record_id"]]
        if referral["status"] in ("in_progress", "accepted"):
            assert referral["transitioned_to"] in case["assigned_user_names"]


def test_generation_is_fast():
    started = time.perf_counter()
    generate(20_000, seed=4)
    assert time.perf_counter() - started < 5.0
