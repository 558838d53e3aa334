"""DTP simulator settings: the credentials it demands and where it pushes webhooks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class DtpConfig:
    """``client_cert_thumbprint`` is the SHA-1 of the client certificate UNICEF registered.

    The simulator does not terminate mTLS; a caller proves the certificate by sending
    its thumbprint in ``cert_header`` (what a TLS-terminating proxy would forward).
    """

    subscription_key: str = "dtp-sim-subscription-key"
    client_cert_thumbprint: str = "3C5F1A0B9D2E8F7A6B5C4D3E2F1A0B9C8D7E6F5A"
    cert_header: str = "X-Client-Cert-Thumbprint"
    base_path: str = "/primero-uat"
    webhook_url: str | None = None
    webhook_api_key: str | None = None
    webhook_key_header: str = "x-api-key"
    seed: int = 0
