"""The synthetic client generator: deterministic, varied, fast, and loadable."""

from __future__ import annotations

import time

from oscar_sim.catalogue import CLIENT_STATUSES, PROVINCE_CODES, SERVICE_NAME_SET
from oscar_sim.generate import generate_clients
from oscar_sim.paths import CLIENTS


def test_same_seed_same_records_different_seed_different_records():
    assert generate_clients(200, seed=3) == generate_clients(200, seed=3)
    assert generate_clients(200, seed=3) != generate_clients(200, seed=4)


def test_records_cover_both_shapes_statuses_and_real_codes():
    records = generate_clients(2000, seed=1)
    assert {r["referred_external"] for r in records} == {True, False}
    assert any(r["local_given_name"] and r["given_name"] for r in records)
    assert any(r["local_given_name"] and not r["given_name"] for r in records)
    statuses = {s["referral_status"] for r in records for s in r["services"] if "referral_id" in s}
    assert statuses == set(CLIENT_STATUSES)
    names = {s["name"] for r in records for s in r["services"]}
    assert names <= SERVICE_NAME_SET
    assert {r["location_current_village_code"][:2] for r in records} <= set(PROVINCE_CODES)
    assert any(r["gender"] is None or r["date_of_birth"] is None for r in records)


def test_hundred_thousand_records_in_seconds():
    started = time.perf_counter()
    records = generate_clients(100_000, seed=42)
    assert len(records) == 100_000
    assert time.perf_counter() - started < 15


def test_generated_clients_serve_through_the_feed(oscar, http, auth):
    oscar.sim.seed_generated(500, seed=9)
    data = http.get(oscar.url + CLIENTS, headers=auth).json()["data"]
    complete = [c for c in oscar.sim.store.clients.values() if c.is_complete()]
    assert 0 < len(data) == len(complete) < 500
