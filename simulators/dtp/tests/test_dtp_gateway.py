"""API.md §3.3: the three DTP endpoints, the APIM key and client-certificate checks, and
what the simulator records."""

from __future__ import annotations

import pytest

from dtp_sim.paths import DECISION_OUTGOING_REFERRAL, FEEDBACK_PATH, INCOMING_REFERRAL

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
FEEDBACK = {**DECISION, "status": "Delivery Fail", "request_type": "Feedback"}
ACK = {
    "status": "Pending Acknowledgement",
    "primero_user": "progresv4_primero_intake",
    "case_id": "c3d4e5f6-0718-4293-a4b5-c6d7e8f90a1b",
    "progres_interventionnumber": "811-25-PRTITV-1000095",
}


@pytest.mark.parametrize(
    ("path", "body", "endpoint"),
    [
        (INCOMING_REFERRAL, REFERRAL, "ReceiveIncomingReferral"),
        (DECISION_OUTGOING_REFERRAL, DECISION, "ReceiveDecisionOutgoingReferral"),
        (FEEDBACK_PATH, FEEDBACK, "Feedback"),
        (FEEDBACK_PATH, ACK, "Feedback"),
    ],
)
def test_valid_messages_are_accepted_and_recorded(dtp, http, path, body, endpoint):
    response = http.post(dtp.url + path, json=body, headers=dtp.auth_headers())
    assert response.status_code == 200
    assert response.json()["status"] == "received"
    (row,) = http.get(dtp.url + "/__sim/received").json()["received"]
    assert row["endpoint"] == endpoint
    assert row["body"] == body
    assert row["request_type"] == body.get("request_type")
    assert row["message_id"] == response.json()["message_id"]


def test_missing_subscription_key_is_401_and_not_recorded_as_received(dtp, http):
    headers = {k: v for k, v in dtp.auth_headers().items() if k != "Ocp-Apim-Subscription-Key"}
    response = http.post(dtp.url + INCOMING_REFERRAL, json=REFERRAL, headers=headers)
    assert response.status_code == 401
    assert response.json()["message"].startswith("Access denied due to missing subscription key")
    assert http.get(dtp.url + "/__sim/received").json()["received"] == []
    (entry,) = http.get(dtp.url + "/__sim/requests").json()["requests"]
    assert (entry["path"], entry["status"], entry["body"]) == (INCOMING_REFERRAL, 401, REFERRAL)


def test_wrong_subscription_key_is_401(dtp, http):
    headers = {**dtp.auth_headers(), "Ocp-Apim-Subscription-Key": "nope"}
    response = http.post(dtp.url + INCOMING_REFERRAL, json=REFERRAL, headers=headers)
    assert response.status_code == 401
    assert response.json()["message"].startswith("Access denied due to invalid subscription key")


@pytest.mark.parametrize("thumbprint", [None, "00" * 20])
def test_missing_or_wrong_client_certificate_is_403(dtp, http, thumbprint):
    headers = {"Ocp-Apim-Subscription-Key": dtp.sim.config.subscription_key}
    if thumbprint:
        headers["X-Client-Cert-Thumbprint"] = thumbprint
    response = http.post(dtp.url + DECISION_OUTGOING_REFERRAL, json=DECISION, headers=headers)
    assert response.status_code == 403
    assert response.json() == {"statusCode": 403, "message": "Invalid client certificate."}


def test_thumbprint_comparison_ignores_case_and_colons(dtp, http):
    raw = dtp.sim.config.client_cert_thumbprint.lower()
    colons = ":".join(raw[i : i + 2] for i in range(0, len(raw), 2))
    headers = {**dtp.auth_headers(), "X-Client-Cert-Thumbprint": colons}
    assert http.post(dtp.url + INCOMING_REFERRAL, json=REFERRAL, headers=headers).status_code == 200


def test_non_object_body_is_400(dtp, http):
    response = http.post(dtp.url + INCOMING_REFERRAL, data=b"[1,2]", headers=dtp.auth_headers())
    assert response.status_code == 400


def test_unknown_path_is_404(dtp, http):
    response = http.post(dtp.url + "/primero-uat/Nope", json={}, headers=dtp.auth_headers())
    assert response.status_code == 404


def test_received_messages_keep_arrival_order_and_filter_by_endpoint(dtp, http):
    for path, body in [
        (INCOMING_REFERRAL, REFERRAL),
        (FEEDBACK_PATH, ACK),
        (INCOMING_REFERRAL, REFERRAL),
    ]:
        http.post(dtp.url + path, json=body, headers=dtp.auth_headers())
    rows = http.get(dtp.url + "/__sim/received").json()["received"]
    assert [r["seq"] for r in rows] == [1, 2, 3]
    only = http.get(dtp.url + "/__sim/received", params={"endpoint": "ReceiveIncomingReferral"})
    assert [r["seq"] for r in only.json()["received"]] == [1, 3]


def test_credentials_can_be_changed_at_run_time(dtp, http):
    http.put(dtp.url + "/__sim/config", json={"subscription_key": "rotated"})
    assert (
        http.post(
            dtp.url + INCOMING_REFERRAL, json=REFERRAL, headers=dtp.auth_headers()
        ).status_code
        == 200
    )
    assert http.get(dtp.url + "/__sim/config").json()["subscription_key"] == "[set]"
    assert http.put(dtp.url + "/__sim/config", json={"base_path": "/x"}).status_code == 400
