"""DTP simulator settings: the credentials it demands and where it pushes webhooks."""

from __future__ import annotations

from dataclasses import dataclass, field

from dtp_sim.endpoints import RECEIVE_DECISION_OUTGOING_REFERRAL, RECEIVE_INCOMING_REFERRAL

#: One APIM subscription key per endpoint, as the real integration holds one credential per
#: operation (OpenFn/primero-progres spec.yaml:4-22); a key of one endpoint is refused on another.
DEFAULT_SUBSCRIPTION_KEYS = {
    RECEIVE_INCOMING_REFERRAL: "dtp-sim-referral-key",
    RECEIVE_DECISION_OUTGOING_REFERRAL: "dtp-sim-decision-key",
}


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files of the mutual-TLS listener: its certificate and key, and the CA bundle whose
    client certificates it accepts."""

    certfile: str
    keyfile: str
    client_ca: str


@dataclass(slots=True)
class DtpConfig:
    """``client_cert_thumbprint`` is the SHA-1 of the client certificate UNICEF registered.

    On the plain listener a caller proves the certificate by sending its thumbprint in
    ``cert_header`` (what a TLS-terminating proxy would forward); on the TLS listener (``tls``
    set) the handshake itself checks the certificate against ``tls.client_ca``.
    """

    subscription_keys: dict[str, str] = field(
        default_factory=lambda: dict(DEFAULT_SUBSCRIPTION_KEYS)
    )
    client_cert_thumbprint: str = "3C5F1A0B9D2E8F7A6B5C4D3E2F1A0B9C8D7E6F5A"
    cert_header: str = "X-Client-Cert-Thumbprint"
    base_path: str = "/primero-uat"
    webhook_url: str | None = None
    webhook_api_key: str | None = None
    webhook_key_header: str = "x-api-key"
    tls: TlsFiles | None = None
    seed: int = 0
