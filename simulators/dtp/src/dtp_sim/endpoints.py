"""DTP message endpoints (API.md §3.3) and the webhook request types DTP pushes (§3.2)."""

RECEIVE_INCOMING_REFERRAL = "ReceiveIncomingReferral"
RECEIVE_DECISION_OUTGOING_REFERRAL = "ReceiveDecisionOutgoingReferral"
# One URL per message type comes from each credential; the reference names no path for
# the Flow 1-3/1-4 feedback messages, so the simulator serves them at ``Feedback``.
FEEDBACK = "Feedback"
ENDPOINTS = (RECEIVE_INCOMING_REFERRAL, RECEIVE_DECISION_OUTGOING_REFERRAL, FEEDBACK)

# request_type values of DTP -> OpenFn/casebridge webhooks, routed on by the receiver.
REFERRAL_WEBHOOK = "PrimeroOutgoingReferral"
DECISION_WEBHOOK = "PrimeroIncomingReferralDecision"
