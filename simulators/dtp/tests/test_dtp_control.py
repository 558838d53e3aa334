"""The /__sim control surface of the DTP simulator: reset, seed, journal, faults."""

from __future__ import annotations

import time

import pytest
import requests

from dtp_sim.paths import INCOMING_REFERRAL

BODY = {"request_type": "ReceiveIncomingReferral", "id": "case#0123456789ab"}


def send(dtp, http):
    return http.post(
        dtp.url + INCOMING_REFERRAL, json=BODY, headers=dtp.auth_headers("ReceiveIncomingReferral")
    )


def test_reset_forgets_everything(dtp, http):
    send(dtp, http)
    http.post(dtp.url + "/__sim/seed", json={"source": "generate", "referrals": 2, "decisions": 2})
    http.post(dtp.url + "/__sim/faults", json={"kind": "latency", "latency_ms": 1})
    http.post(dtp.url + "/__sim/reset")
    assert http.get(dtp.url + "/__sim/received").json()["received"] == []
    assert http.get(dtp.url + "/__sim/outbox").json()["messages"] == []
    assert http.get(dtp.url + "/__sim/requests").json()["requests"] == []
    assert http.get(dtp.url + "/__sim/faults").json()["faults"] == []


def test_seed_generate_fills_the_outbox(dtp, http):
    added = http.post(
        dtp.url + "/__sim/seed",
        json={"source": "generate", "referrals": 3, "decisions": 4, "seed": 1},
    )
    assert added.json() == {"added": 7, "outbox": 7}


def test_decide_received_answers_each_received_referral_once(dtp, http):
    send(dtp, http)
    send(dtp, http)  # the same referral re-sent: one answer
    other = {**BODY, "id": "case2#ba9876543210"}
    http.post(
        dtp.url + INCOMING_REFERRAL, json=other, headers=dtp.auth_headers("ReceiveIncomingReferral")
    )
    seed = {"source": "decide_received", "seed": 3}
    assert http.post(dtp.url + "/__sim/seed", json=seed).json() == {"added": 2, "outbox": 2}
    assert http.post(dtp.url + "/__sim/seed", json=seed).json() == {"added": 0, "outbox": 2}
    messages = http.get(dtp.url + "/__sim/outbox").json()["messages"]
    items = [m["interventions"][0] for m in messages]
    assert {m["request_type"] for m in messages} == {"PrimeroIncomingReferralDecision"}
    assert [i["progres_orgreferralid"] for i in items] == [BODY["id"], other["id"]]
    assert {i["progres_reviewdecision"] for i in items} <= {"125080000", "125080001"}


def test_journal_has_method_path_body_time_in_order(dtp, http):
    send(dtp, http)
    (entry,) = http.get(dtp.url + "/__sim/requests").json()["requests"]
    assert (entry["method"], entry["path"], entry["body"], entry["status"]) == (
        "POST",
        INCOMING_REFERRAL,
        BODY,
        200,
    )
    assert entry["time"]


def test_latency(dtp, http):
    http.post(
        dtp.url + "/__sim/faults",
        json={"kind": "latency", "path": INCOMING_REFERRAL, "latency_ms": 250},
    )
    started = time.perf_counter()
    assert send(dtp, http).status_code == 200
    assert time.perf_counter() - started >= 0.25


@pytest.mark.parametrize("status", [500, 502, 503])
def test_error_status_and_nothing_received(dtp, http, status):
    http.post(
        dtp.url + "/__sim/faults",
        json={"path": "/primero-uat/*", "kind": "error", "status": status},
    )
    assert send(dtp, http).status_code == status
    assert http.get(dtp.url + "/__sim/received").json()["received"] == []
    (entry,) = http.get(dtp.url + "/__sim/requests").json()["requests"]
    assert (entry["status"], entry["fault"]) == (status, "error")


def test_throttle_with_retry_after_then_recovers(dtp, http):
    http.post(dtp.url + "/__sim/faults", json={"kind": "throttle", "retry_after": 3, "times": 2})
    for _ in range(2):
        response = send(dtp, http)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
    assert send(dtp, http).status_code == 200


def test_dropped_connection(dtp, http):
    http.post(dtp.url + "/__sim/faults", json={"kind": "drop", "times": 1})
    with pytest.raises(requests.ConnectionError):
        requests.post(
            dtp.url + INCOMING_REFERRAL,
            json=BODY,
            headers=dtp.auth_headers("ReceiveIncomingReferral"),
            timeout=5,
        )
    assert http.get(dtp.url + "/__sim/received").json()["received"] == []
    assert send(dtp, http).status_code == 200


def test_control_paths_are_never_faulted(dtp, http):
    http.post(dtp.url + "/__sim/faults", json={"path": "*", "kind": "error", "status": 503})
    assert http.get(dtp.url + "/__sim/health").status_code == 200
