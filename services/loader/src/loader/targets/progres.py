"""The proGres target: messages to UNHCR's DTP gateway (Azure API Management, API.md §3.3).

One endpoint per message type (`DTP_URL` + path): `referral` (P3) -> `ReceiveIncomingReferral`,
`decision` (P2) -> `ReceiveDecisionOutgoingReferral`, `feedback` (P1 "Pending Acknowledgement" /
"Delivery Fail") -> `Feedback`. Each request carries `Ocp-Apim-Subscription-Key` and is made over
mutual TLS with UNICEF's client certificate; against the simulator, which serves plain HTTP, the
certificate's SHA-1 thumbprint goes in a header instead (`DTP_CERT_THUMBPRINT_HEADER`).

`referral` is sent once per DTP id and `decision` once per (intervention, status): the loader's
natural-key idempotency, so a case touched again re-sends nothing. DTP's answer body is ignored.
Errors name the method, the endpoint path and the status only — never the body we sent (child
data), DTP's reply (it may echo it), the key or the certificate; 401/403 are credential failures
(the queue parks, nothing is dead-lettered).
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr

from casebridge.clients import AuthenticationFailed, HttpClient, HttpStatusError
from casebridge.clients.http import TransientHttpError
from casebridge.control import ControlStore
from casebridge.errors import PermanentError
from casebridge.messages import UpsertCommand
from casebridge.settings import CasebridgeSettings
from loader.breaker import CircuitBreaker
from loader.guard_settings import GuardSettings
from loader.guarded import GuardedTarget
from loader.payloads import body_part, unknown_operation
from loader.rate_limit import TokenBucket
from loader.target import Target
from loader.writer import Written

NAME = "progres"
KEY_HEADER = "Ocp-Apim-Subscription-Key"


class DtpSettings(CasebridgeSettings):
    """How to reach DTP (`DTP_*`; secrets also as `<NAME>_FILE`)."""

    dtp_url: str = Field(
        default="http://127.0.0.1:8083/primero-uat",
        description="Base URL of the DTP API (APIM host + base path).",
    )
    dtp_referral_path: str = Field(default="/ReceiveIncomingReferral", description="P3 endpoint.")
    dtp_decision_path: str = Field(
        default="/ReceiveDecisionOutgoingReferral", description="P2 endpoint."
    )
    dtp_feedback_path: str = Field(default="/Feedback", description="P1 feedback endpoint.")
    dtp_subscription_key: SecretStr = Field(
        default=SecretStr(""), description="APIM subscription key (or DTP_SUBSCRIPTION_KEY_FILE)."
    )
    dtp_client_cert_path: str = Field(
        default="", description="PEM client certificate for mutual TLS (a mounted secret file)."
    )
    dtp_client_key_path: str = Field(
        default="", description="PEM private key of the certificate (a mounted secret file)."
    )
    dtp_client_key_password: SecretStr = Field(
        default=SecretStr(""), description="Password of the private key, if it has one."
    )
    dtp_ca_path: str = Field(
        default="", description="CA bundle to verify DTP with (default: the system store)."
    )
    dtp_cert_thumbprint_header: str = Field(
        default="",
        description="Send the certificate's SHA-1 thumbprint in this header (the simulator's"
        " mTLS stand-in, X-Client-Cert-Thumbprint); empty sends none.",
    )
    dtp_cert_thumbprint: SecretStr = Field(
        default=SecretStr(""),
        description="Thumbprint to send; computed from DTP_CLIENT_CERT_PATH when empty.",
    )
    dtp_timeout_s: float = Field(default=30.0, description="Longest wait for one response.")
    dtp_connect_timeout_s: float = Field(default=10.0, description="Longest TCP/TLS connect.")
    dtp_max_connections: int = Field(default=8, description="Pooled keep-alive connections.")


class ProgresSettings(DtpSettings, GuardSettings):
    """The progres target's settings: `DTP_*` plus the shared rate limit and breaker."""


def client_ssl_context(settings: DtpSettings) -> ssl.SSLContext | None:
    """A verifying TLS context presenting the client certificate; None without a certificate."""
    if not settings.dtp_client_cert_path:
        return None
    context = ssl.create_default_context(cafile=settings.dtp_ca_path or None)
    password = settings.dtp_client_key_password.get_secret_value() or None
    context.load_cert_chain(
        settings.dtp_client_cert_path, settings.dtp_client_key_path or None, password
    )
    return context


def certificate_thumbprint(settings: DtpSettings) -> str:
    """The configured thumbprint, else the SHA-1 of the client certificate (uppercase hex)."""
    configured = settings.dtp_cert_thumbprint.get_secret_value()
    if configured or not settings.dtp_client_cert_path:
        return configured
    pem = Path(settings.dtp_client_cert_path).read_text(encoding="ascii")
    return hashlib.sha1(ssl.PEM_cert_to_DER_cert(pem), usedforsecurity=False).hexdigest().upper()


class DtpClient:
    """POSTs one JSON message to one DTP endpoint; failures carry no body and no secret."""

    def __init__(self, settings: DtpSettings) -> None:
        headers = {KEY_HEADER: settings.dtp_subscription_key.get_secret_value()}
        if settings.dtp_cert_thumbprint_header:
            headers[settings.dtp_cert_thumbprint_header] = certificate_thumbprint(settings)
        self._http = HttpClient(
            settings.dtp_url,
            system="dtp",
            timeout_s=settings.dtp_timeout_s,
            connect_timeout_s=settings.dtp_connect_timeout_s,
            concurrency=settings.dtp_max_connections,
            default_headers=headers,
            ssl_context=client_ssl_context(settings),
        )
        self.paths = {
            "referral": settings.dtp_referral_path,
            "decision": settings.dtp_decision_path,
            "feedback": settings.dtp_feedback_path,
        }

    def __repr__(self) -> str:
        return f"DtpClient({self._http.base_url!r})"

    async def send(self, message_type: str, body: dict[str, Any]) -> None:
        """POST `body` to the endpoint of `message_type`."""
        path = self.paths[message_type]
        try:
            await self._http.request("POST", path, json=body)
        except HttpStatusError as exc:
            if exc.status in (401, 403):
                # APIM's fixed texts ("invalid subscription key", "Invalid client certificate").
                raise AuthenticationFailed(
                    f"dtp POST {path} answered {exc.status}: {exc.text[:120]}",
                    status=exc.status,
                    text="",
                ) from None
            raise PermanentError(f"dtp POST {path} answered {exc.status}") from None
        except TransientHttpError as exc:
            raise TransientHttpError(
                f"dtp POST {path} failed ({exc.status or 'no answer'})",
                status=exc.status,
                retry_after=exc.retry_after,
            ) from None

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._http.close()


class ProgresWriter:
    """Writes commands to DTP."""

    name = NAME
    once_per_key = frozenset({"referral", "decision"})

    def __init__(self, client: DtpClient, limiter: TokenBucket) -> None:
        self._client = client
        self._limiter = limiter

    async def start(self) -> None:
        """Nothing to open: the session is created on first use."""

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._client.close()

    async def write(self, command: UpsertCommand) -> Written:
        """One POST per command, to the endpoint of its operation."""
        if command.operation not in self._client.paths:
            raise unknown_operation(command, frozenset(self._client.paths))
        body = body_part(command, "body")
        await self._limiter.acquire()
        await self._client.send(command.operation, body)
        key = command.key.get("id") or command.key.get("progres_interventionnumber")
        return Written(target_id=key)


def build(store: ControlStore, settings: ProgresSettings | None = None) -> Target:
    """The entry point: the DTP writer behind the shared guards."""
    settings = settings or ProgresSettings()
    writer = ProgresWriter(
        DtpClient(settings), TokenBucket(settings.target_rate_per_s, settings.target_burst)
    )
    breaker = CircuitBreaker(
        NAME, failure_threshold=settings.breaker_failures, cooldown_s=settings.breaker_cooldown_s
    )
    return GuardedTarget(writer, store, breaker)
