"""The /__sim control surface: reset, seed, journal, clock; and every fault type."""

from __future__ import annotations

import time

import pytest
import requests

from oscar_sim.paths import CLIENTS, UPDATE_STATUSES


def test_seed_from_generator_then_reset(oscar, http, auth):
    loaded = http.post(
        oscar.url + "/__sim/seed", json={"source": "generate", "count": 50, "seed": 7}
    )
    assert loaded.json()["loaded"] == 50
    assert http.get(oscar.url + "/__sim/health").json()["clients"] == 50
    assert http.post(oscar.url + "/__sim/reset").status_code == 200
    assert http.get(oscar.url + "/__sim/health").json()["clients"] == 0
    assert http.get(oscar.url + "/__sim/requests").json()["requests"] == []


def test_seed_from_records(oscar, http):
    record = {
        "slug": "x-1",
        "given_name": "A",
        "family_name": "B",
        "gender": "male",
        "date_of_birth": "2015-01-01",
    }
    assert (
        http.post(
            oscar.url + "/__sim/seed", json={"source": "records", "records": [record]}
        ).json()["loaded"]
        == 1
    )
    assert http.get(oscar.url + "/__sim/clients").json()["clients"][0]["slug"] == "x-1"


def test_journal_lists_writes_in_order_with_method_path_body_time(oscar, http, auth):
    http.get(oscar.url + CLIENTS, headers=auth)  # reads are not journaled
    http.put(oscar.url + UPDATE_STATUSES, json={"data": []})
    http.put(oscar.url + UPDATE_STATUSES, json={"data": [{"referral_id": 1}]})
    entries = http.get(oscar.url + "/__sim/requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/api/v1/admin_auth/sign_in", 200),
        ("PUT", UPDATE_STATUSES, 200),
        ("PUT", UPDATE_STATUSES, 422),
    ]
    assert entries[2]["body"] == {"data": [{"referral_id": 1}]}
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert all(e["time"] for e in entries)
    http.delete(oscar.url + "/__sim/requests")
    assert http.get(oscar.url + "/__sim/requests").json()["requests"] == []


def test_added_latency(oscar, http, auth):
    http.post(
        oscar.url + "/__sim/faults", json={"kind": "latency", "path": CLIENTS, "latency_ms": 300}
    )
    started = time.perf_counter()
    assert http.get(oscar.url + CLIENTS, headers=auth).status_code == 200
    assert time.perf_counter() - started >= 0.3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_error_rate_one_always_fails_with_the_configured_status(oscar, http, auth, status):
    http.post(
        oscar.url + "/__sim/faults", json={"path": CLIENTS, "kind": "error", "status": status}
    )
    for _ in range(3):
        assert http.get(oscar.url + CLIENTS, headers=auth).status_code == status


def test_fractional_error_rate_is_reproducible_for_a_seed(oscar, http, auth):
    http.post(
        oscar.url + "/__sim/faults",
        json={"path": CLIENTS, "kind": "error", "status": 503, "probability": 0.5},
    )
    statuses = [http.get(oscar.url + CLIENTS, headers=auth).status_code for _ in range(40)]
    assert set(statuses) == {200, 503}
    http.post(oscar.url + "/__sim/reset")
    auth = {**auth}
    # after reset the RNG is reseeded, so the same pattern repeats for a fresh rule
    http.post(
        oscar.url + "/__sim/faults",
        json={
            "path": "/api/v1/organizations/referrals/*",
            "kind": "error",
            "status": 503,
            "probability": 0.5,
        },
    )
    again = [
        http.put(oscar.url + UPDATE_STATUSES, json={"data": []}).status_code for _ in range(40)
    ]
    assert [s == 503 for s in again] == [s == 503 for s in statuses]


def test_throttle_returns_429_with_retry_after(oscar, http, auth):
    http.post(
        oscar.url + "/__sim/faults",
        json={"path": CLIENTS, "kind": "throttle", "retry_after": 7, "times": 1},
    )
    throttled = http.get(oscar.url + CLIENTS, headers=auth)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert http.get(oscar.url + CLIENTS, headers=auth).status_code == 200  # rule retired
    assert http.get(oscar.url + "/__sim/faults").json()["faults"] == []


def test_dropped_connection(oscar, http, auth):
    http.post(
        oscar.url + "/__sim/faults",
        json={"path": UPDATE_STATUSES, "method": "PUT", "kind": "drop", "times": 1},
    )
    with pytest.raises(requests.ConnectionError):
        requests.put(oscar.url + UPDATE_STATUSES, json={"data": []}, timeout=5)
    entry = http.get(oscar.url + "/__sim/requests").json()["requests"][-1]
    assert entry["fault"] == "drop"
    assert entry["status"] is None
    assert (
        requests.put(oscar.url + UPDATE_STATUSES, json={"data": []}, timeout=5).status_code == 200
    )


def test_forced_token_expiry_fault_expires_the_presented_token(oscar, http, auth, sign_in):
    http.post(
        oscar.url + "/__sim/faults", json={"path": CLIENTS, "kind": "expire_token", "times": 1}
    )
    response = http.get(oscar.url + CLIENTS, headers=auth)
    assert response.status_code == 401
    assert response.json() == {"errors": ["You need to sign in or sign up before continuing."]}
    assert http.get(oscar.url + CLIENTS, headers=auth).status_code == 401  # stays expired
    assert http.get(oscar.url + CLIENTS, headers=sign_in()).status_code == 200


def test_expire_all_tokens_control_call(oscar, http, auth):
    assert http.post(oscar.url + "/__sim/tokens/expire").json() == {"expired": 1}
    assert http.get(oscar.url + CLIENTS, headers=auth).status_code == 401


def test_fault_rules_apply_only_to_their_method(oscar, http, auth):
    http.post(
        oscar.url + "/__sim/faults",
        json={"path": "*", "method": "POST", "kind": "error", "status": 503},
    )
    assert http.get(oscar.url + CLIENTS, headers=auth).status_code == 200
    http.delete(oscar.url + "/__sim/faults")
    assert http.get(oscar.url + "/__sim/faults").json()["faults"] == []


def test_invalid_fault_rule_is_400(oscar, http):
    response = http.post(oscar.url + "/__sim/faults", json={"kind": "error", "status": 418})
    assert response.status_code == 400


def test_clock_freeze_and_advance(oscar, http):
    frozen = http.post(oscar.url + "/__sim/clock", json={"now": "2025-03-20 10:00:00"}).json()
    assert frozen == {"now": "2025-03-20T10:00:00+00:00", "frozen": True}
    moved = http.post(oscar.url + "/__sim/clock", json={"advance": 60}).json()
    assert moved["now"] == "2025-03-20T10:01:00+00:00"
