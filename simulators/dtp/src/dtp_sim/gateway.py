"""What Azure API Management checks before a message reaches DTP: subscription key, then
the client certificate (presented here as a thumbprint header, see ``DtpConfig``)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dtp_sim.config import DtpConfig

KEY_HEADER = "ocp-apim-subscription-key"
MISSING_KEY = (
    "Access denied due to missing subscription key. "
    "Make sure to include subscription key when making requests to an API."
)
INVALID_KEY = (
    "Access denied due to invalid subscription key. "
    "Make sure to provide a valid key for an active subscription."
)
INVALID_CERT = "Invalid client certificate."


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    body: dict[str, Any]
    reason: str


def normalise_thumbprint(value: str) -> str:
    return value.replace(":", "").replace(" ", "").upper()


def check(headers: Mapping[str, str], config: DtpConfig) -> Refusal | None:
    key = headers.get(KEY_HEADER)
    if not key:
        return Refusal(401, {"statusCode": 401, "message": MISSING_KEY}, "missing_key")
    if not secrets.compare_digest(key.encode(), config.subscription_key.encode()):
        return Refusal(401, {"statusCode": 401, "message": INVALID_KEY}, "invalid_key")
    presented = headers.get(config.cert_header.lower(), "")
    expected = normalise_thumbprint(config.client_cert_thumbprint)
    if not presented or normalise_thumbprint(presented) != expected:
        return Refusal(403, {"statusCode": 403, "message": INVALID_CERT}, "invalid_cert")
    return None
