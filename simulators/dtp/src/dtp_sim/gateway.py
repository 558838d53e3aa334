"""What Azure API Management checks before a message reaches DTP: the operation exists, the
subscription key is the one of *this* endpoint, then the client certificate.

The certificate is proved either by the TLS handshake (the mTLS listener, ``tls_front``) or, on
the plain listener, by the thumbprint header (see ``DtpConfig``).
"""

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
#: APIM's answer when no operation matches the method and path.
NOT_FOUND_BODY = {"statusCode": 404, "message": "Resource not found"}


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    body: dict[str, Any]
    reason: str


def normalise_thumbprint(value: str) -> str:
    return value.replace(":", "").replace(" ", "").upper()


def check(
    endpoint: str,
    headers: Mapping[str, str],
    config: DtpConfig,
    *,
    handshake_verified: bool = False,
) -> Refusal | None:
    """None when the request may pass; ``handshake_verified`` means it came over mutual TLS."""
    key = headers.get(KEY_HEADER)
    if not key:
        return Refusal(401, {"statusCode": 401, "message": MISSING_KEY}, "missing_key")
    expected_key = config.subscription_keys.get(endpoint, "")
    if not expected_key or not secrets.compare_digest(key.encode(), expected_key.encode()):
        return Refusal(401, {"statusCode": 401, "message": INVALID_KEY}, "invalid_key")
    if handshake_verified:
        return None
    presented = headers.get(config.cert_header.lower(), "")
    expected = normalise_thumbprint(config.client_cert_thumbprint)
    if not presented or normalise_thumbprint(presented) != expected:
        return Refusal(403, {"statusCode": 403, "message": INVALID_CERT}, "invalid_cert")
    return None
