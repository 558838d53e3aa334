"""API.md §3.2: DTP pushes referral and decision webhooks to casebridge, with its API key."""

from __future__ import annotations


def configure(dtp, http, receiver, key="hook-key"):
    http.put(dtp.url + "/__sim/config", json={"webhook_url": receiver.url, "webhook_api_key": key})


def test_push_drains_the_sample_outbox_in_order_with_the_api_key(dtp, http, receiver):
    configure(dtp, http, receiver)
    seeded = http.post(dtp.url + "/__sim/seed", json={"source": "samples"}).json()
    response = http.post(dtp.url + "/__sim/push", json={})
    results = response.json()["results"]
    assert len(results) == len(receiver.received) == seeded["added"] == 9
    assert [r["status"] for r in results] == [200] * 9
    assert results[0]["response"] == {"work_order_id": "wo-1"}
    assert all(r["headers"]["x-api-key"] == "hook-key" for r in receiver.received)
    assert all(r["path"] == "/i/trigger-uuid" for r in receiver.received)
    types = [r["body"]["request_type"] for r in receiver.received]
    assert types[:5] == ["PrimeroOutgoingReferral"] * 5
    assert set(types[5:]) == {"PrimeroIncomingReferralDecision", "decision"}
    assert http.get(dtp.url + "/__sim/outbox").json()["messages"] == []


def test_push_generated_referrals(dtp, http, receiver):
    configure(dtp, http, receiver)
    body = {"kind": "referral", "count": 3, "seed": 5, "interventions_per_message": 2}
    results = http.post(dtp.url + "/__sim/push", json=body).json()["results"]
    assert [r["status"] for r in results] == [200, 200, 200]
    first = receiver.received[0]["body"]
    assert first["request_type"] == "PrimeroOutgoingReferral"
    assert len(first["interventions"]) == 2
    assert first["interventions"][0]["individuals.progres_id"].count("-") == 1


def test_push_generated_decisions(dtp, http, receiver):
    configure(dtp, http, receiver)
    http.post(dtp.url + "/__sim/push", json={"kind": "decision", "count": 3})
    decisions = [r["body"]["interventions"][0]["progres_reviewdecision"] for r in receiver.received]
    assert sorted(decisions) == ["125080000", "125080001", "125080003"]


def test_push_explicit_messages_and_without_api_key(dtp, http, receiver):
    configure(dtp, http, receiver, key=None)
    message = {"interventions": [], "request_type": "PrimeroOutgoingReferral"}
    http.post(dtp.url + "/__sim/push", json={"messages": [message]})
    (got,) = receiver.received
    assert got["body"] == message
    assert "x-api-key" not in {k.lower() for k in got["headers"]}


def test_receiver_errors_and_unreachable_targets_are_reported(dtp, http, receiver):
    configure(dtp, http, receiver)
    receiver.status = 404
    (result,) = http.post(dtp.url + "/__sim/push", json={"kind": "decision"}).json()["results"]
    assert result["status"] == 404
    unreachable = {"kind": "decision", "url": "http://127.0.0.1:9/i/none"}
    (failed,) = http.post(dtp.url + "/__sim/push", json=unreachable).json()["results"]
    assert failed["status"] is None
    assert failed["error"]
    assert len(http.get(dtp.url + "/__sim/pushes").json()["pushes"]) == 2


def test_push_without_a_target_is_400(dtp, http):
    assert http.post(dtp.url + "/__sim/push", json={"kind": "referral"}).status_code == 400
