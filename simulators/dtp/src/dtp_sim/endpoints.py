"""DTP message endpoints (API.md §3.3) and the webhook request types DTP pushes (§3.2).

There is no feedback endpoint: the real integration posts both P1 feedback messages ("Pending
Acknowledgement" and "Delivery Fail", `request_type: "Feedback"`) to ReceiveDecisionOutgoingReferral
with that endpoint's credential (OpenFn/primero-progres spec.yaml:288-290,360-362).
"""

RECEIVE_INCOMING_REFERRAL = "ReceiveIncomingReferral"
RECEIVE_DECISION_OUTGOING_REFERRAL = "ReceiveDecisionOutgoingReferral"
ENDPOINTS = (RECEIVE_INCOMING_REFERRAL, RECEIVE_DECISION_OUTGOING_REFERRAL)

# request_type values of DTP -> OpenFn/casebridge webhooks, routed on by the receiver.
REFERRAL_WEBHOOK = "PrimeroOutgoingReferral"
DECISION_WEBHOOK = "PrimeroIncomingReferralDecision"
