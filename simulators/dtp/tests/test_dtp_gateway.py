"""The DTP endpoints as the real gateway serves them: two operations (feedback goes to
ReceiveDecisionOutgoingReferral, there is no /Feedback), one subscription key per endpoint,
then the client-certificate check (thumbprint stand-in on the plain listener), and what the
simulator records."""

from __future__ import annotations

import pytest

from dtp_sim.paths import DECISION_OUTGOING_REFERRAL, INCOMING_REFERRAL

RIR, RDOR = "ReceiveIncomingReferral", "ReceiveDecisionOutgoingReferral"
REFERRAL = {
    "request_type": "ReceiveIncomingReferral",
    "service_implementing_agency": "UNICEF",
    "service_type": "Child Protection Service",
    "unhcr_individual_no": "989-00000226",
    "sex": "female",
    "id": "8c1f5e2a-7d3b-4a9c-b6e0-1f2a3b4c5d6e#10fedcba9876",
}
DECISION = {
    "case_id": "c3d4e5f6-0718-4293-a4b5-c6d7e8f90a1b",
    "primero_user": "progresv4_primero_intake",
    "progres_interventionnumber": "811-25-PRTITV-1000095",
    "status": "acknowledged",
    "closure_reason": "No reason specified.",
    "request_type": "ReceiveDecisionOutgoingReferral",
}
DELIVERY_FAIL = {**DECISION, "status": "Delivery Fail", "request_type": "Feedback"}
ACK = {
    "status": "Pending Acknowledgement",
    "primero_user": "progresv4_primero_intake",
    "case_id": "c3d4e5f6-0718-4293-a4b5-c6d7e8f90a1b",
    "progres_interventionnumber": "811-25-PRTITV-1000095",
}


@pytest.mark.parametrize(
    ("path", "body", "endpoint"),
    [
        (INCOMING_REFERRAL, REFERRAL, RIR),
        (DECISION_OUTGOING_REFERRAL, DECISION, RDOR),
        (DECISION_OUTGOING_REFERRAL, DELIVERY_FAIL, RDOR),
        (DECISION_OUTGOING_REFERRAL, ACK, RDOR),
    ],
)
def test_valid_messages_are_accepted_and_recorded(dtp, http, path, body, endpoint):
    response = http.post(dtp.url + path, json=body, headers=dtp.auth_headers(endpoint))
    assert response.status_code == 200
    assert response.json()["status"] == "received"
    (row,) = http.get(dtp.url + "/__sim/received").json()["received"]
    assert row["endpoint"] == endpoint
    assert row["body"] == body
    assert row["request_type"] == body.get("request_type")
    assert row["message_id"] == response.json()["message_id"]


@pytest.mark.parametrize("body", [DELIVERY_FAIL, ACK])
def test_there_is_no_feedback_endpoint_apim_answers_404(dtp, http, body):
    for key_of in (RIR, RDOR):
        response = http.post(
            dtp.url + "/primero-uat/Feedback", json=body, headers=dtp.auth_headers(key_of)
        )
        assert response.status_code == 404
        assert response.json() == {"statusCode": 404, "message": "Resource not found"}
    assert dtp.sim.received == []
    statuses = [
        (e["path"], e["status"]) for e in http.get(dtp.url + "/__sim/requests").json()["requests"]
    ]
    assert statuses == [("/primero-uat/Feedback", 404)] * 2


def test_unknown_path_or_method_is_apims_404(dtp, http):
    response = http.post(dtp.url + "/primero-uat/Nope", json={}, headers=dtp.auth_headers(RIR))
    assert (response.status_code, response.json()["message"]) == (404, "Resource not found")
    assert http.get(dtp.url + INCOMING_REFERRAL).status_code == 404


@pytest.mark.parametrize(
    ("path", "key_of"), [(INCOMING_REFERRAL, RDOR), (DECISION_OUTGOING_REFERRAL, RIR)]
)
def test_a_key_of_another_endpoint_is_401(dtp, http, path, key_of):
    response = http.post(dtp.url + path, json=DECISION, headers=dtp.auth_headers(key_of))
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "message": "Access denied due to invalid subscription key. "
        "Make sure to provide a valid key for an active subscription.",
    }
    assert dtp.sim.received == []


def test_missing_subscription_key_is_401_and_not_recorded_as_received(dtp, http):
    headers = {k: v for k, v in dtp.auth_headers(RIR).items() if k != "Ocp-Apim-Subscription-Key"}
    response = http.post(dtp.url + INCOMING_REFERRAL, json=REFERRAL, headers=headers)
    assert response.status_code == 401
    assert response.json()["message"].startswith("Access denied due to missing subscription key")
    assert http.get(dtp.url + "/__sim/received").json()["received"] == []
    (entry,) = http.get(dtp.url + "/__sim/requests").json()["requests"]
    assert (entry["path"], entry["status"], entry["body"]) == (INCOMING_REFERRAL, 401, REFERRAL)


def test_wrong_subscription_key_is_401(dtp, http):
    headers = {**dtp.auth_headers(RIR), "Ocp-Apim-Subscription-Key": "nope"}
    response = http.post(dtp.url + INCOMING_REFERRAL, json=REFERRAL, headers=headers)
    assert response.status_code == 401
    assert response.json()["message"].startswith("Access denied due to invalid subscription key")


@pytest.mark.parametrize("thumbprint", [None, "00" * 20])
def test_missing_or_wrong_client_certificate_is_403(dtp, http, thumbprint):
    headers = {"Ocp-Apim-Subscription-Key": dtp.key_for(RDOR)}
    if thumbprint:
        headers["X-Client-Cert-Thumbprint"] = thumbprint
    response = http.post(dtp.url + DECISION_OUTGOING_REFERRAL, json=DECISION, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"statusCode": 403, "message": "Invalid client certificate."}


def test_thumbprint_comparison_ignores_case_and_colons(dtp, http):
    raw = dtp.sim.config.client_cert_thumbprint.lower()
    colons = ":".join(raw[i : i + 2] for i in range(0, len(raw), 2))
    headers = {**dtp.auth_headers(RIR), "X-Client-Cert-Thumbprint": colons}
    assert http.post(dtp.url + INCOMING_REFERRAL, json=REFERRAL, headers=headers).status_code == 200


def test_non_object_body_is_400(dtp, http):
    response = http.post(dtp.url + INCOMING_REFERRAL, data=b"[1,2]", headers=dtp.auth_headers(RIR))
    assert response.status_code == 400


def test_received_messages_keep_arrival_order_and_filter_by_endpoint(dtp, http):
    for path, body, endpoint in [
        (INCOMING_REFERRAL, REFERRAL, RIR),
        (DECISION_OUTGOING_REFERRAL, ACK, RDOR),
        (INCOMING_REFERRAL, REFERRAL, RIR),
    ]:
        http.post(dtp.url + path, json=body, headers=dtp.auth_headers(endpoint))
    rows = http.get(dtp.url + "/__sim/received").json()["received"]
    assert [r["seq"] for r in rows] == [1, 2, 3]
    only = http.get(dtp.url + "/__sim/received", params={"endpoint": RIR})
    assert [r["seq"] for r in only.json()["received"]] == [1, 3]


def test_one_endpoints_key_can_be_rotated_at_run_time(dtp, http):
    old_decision_key = dtp.key_for(RDOR)
    changed = http.put(dtp.url + "/__sim/config", json={"subscription_keys": {RIR: "rotated"}})
    assert changed.json()["subscription_keys"] == {RIR: "[set]", RDOR: "[set]"}
    headers = {**dtp.auth_headers(RIR), "Ocp-Apim-Subscription-Key": "rotated"}
    assert http.post(dtp.url + INCOMING_REFERRAL, json=REFERRAL, headers=headers).status_code == 200
    assert dtp.key_for(RDOR) == old_decision_key
    assert http.put(dtp.url + "/__sim/config", json={"base_path": "/x"}).status_code == 400
    unknown = http.put(dtp.url + "/__sim/config", json={"subscription_keys": {"Feedback": "k"}})
    assert unknown.status_code == 400
