"""Paths of the DTP simulator under the default base path, for tests and clients."""

from dtp_sim.config import DtpConfig
from dtp_sim.endpoints import RECEIVE_DECISION_OUTGOING_REFERRAL, RECEIVE_INCOMING_REFERRAL

BASE = DtpConfig().base_path
INCOMING_REFERRAL = f"{BASE}/{RECEIVE_INCOMING_REFERRAL}"
DECISION_OUTGOING_REFERRAL = f"{BASE}/{RECEIVE_DECISION_OUTGOING_REFERRAL}"
CONTROL = "/__sim"
