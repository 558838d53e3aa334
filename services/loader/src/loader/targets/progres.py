"""The proGres target: messages to UNHCR's DTP gateway (Azure API Management, API.md §3.3).

Two endpoints (`DTP_URL` + path), each with its own APIM subscription key, as the real
integration holds one credential per operation (OpenFn/primero-progres spec.yaml:4-22):
`referral` (P3) -> `ReceiveIncomingReferral`; `decision` (P2) and `feedback` (P1 "Pending
Acknowledgement" / "Delivery Fail") -> `ReceiveDecisionOutgoingReferral`, where the real jobs post
both feedback messages (spec.yaml:288-290,360-362); there is no feedback endpoint. Requests go over
mutual TLS with UNICEF's client certificate; against the simulator's plain listener the
certificate's SHA-1 thumbprint goes in a header instead (`DTP_CERT_THUMBPRINT_HEADER`).

`referral` is sent once per DTP id and `decision` once per (intervention, status): the loader's
natural-key idempotency, so a case touched again re-sends nothing. DTP's answer body is ignored.
Errors name the method, the endpoint path and the status only — never the body we sent (child
data), DTP's reply (it may echo it), the key or the certificate. A refused key (401), a refused
certificate (403 "Invalid client certificate." or a TLS alert at the handshake) or an untrusted
server certificate is a `ConfigurationError`: the breaker opens with that reason and messages
park; nothing is dead-lettered.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path
from typing import Any

import structlog
from pydantic import Field, SecretStr

from casebridge.clients import AuthenticationFailed, HttpClient, HttpStatusError
from casebridge.clients.http import TransientHttpError
from casebridge.control import ControlStore
from casebridge.errors import ConfigurationError, PermanentError
from casebridge.messages import UpsertCommand
from casebridge.settings import CasebridgeSettings
from loader.breaker import CircuitBreaker
from loader.guard_settings import GuardSettings
from loader.guarded import GuardedTarget
from loader.payloads import body_part, unknown_operation
from loader.rate_limit import TokenBucket
from loader.target import Target
from loader.writer import Written

log = structlog.get_logger(__name__)

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
    dtp_feedback_path: str = Field(
        default="/ReceiveDecisionOutgoingReferral",
        description="P1 feedback endpoint (the real integration's: the decision endpoint).",
    )
    dtp_referral_subscription_key: SecretStr = Field(
        default=SecretStr(""), description="APIM key of the referral endpoint (or _FILE)."
    )
    dtp_decision_subscription_key: SecretStr = Field(
        default=SecretStr(""), description="APIM key of the decision endpoint (or _FILE)."
    )
    dtp_feedback_subscription_key: SecretStr = Field(
        default=SecretStr(""),
        description="APIM key for feedback (or _FILE); empty: the decision endpoint's key.",
    )
    dtp_subscription_key: SecretStr = Field(
        default=SecretStr(""),
        description="Legacy single key (or _FILE): used for any endpoint whose own key is empty"
        " (an APIM subscription scoped to the whole API).",
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


def subscription_keys(settings: DtpSettings) -> dict[str, str]:
    """The key each message type sends: its own, else (feedback) the decision endpoint's, else
    the legacy single key."""
    legacy = settings.dtp_subscription_key.get_secret_value()
    referral = settings.dtp_referral_subscription_key.get_secret_value() or legacy
    decision = settings.dtp_decision_subscription_key.get_secret_value() or legacy
    feedback = settings.dtp_feedback_subscription_key.get_secret_value() or decision
    return {"referral": referral, "decision": decision, "feedback": feedback}


def client_ssl_context(settings: DtpSettings) -> ssl.SSLContext | None:
    """A verifying TLS context presenting the client certificate; None without a certificate.

    Files that cannot be read or do not match are a configuration error at start, named by
    setting (the message carries no key material).
    """
    if not settings.dtp_client_cert_path:
        return None
    try:
        context = ssl.create_default_context(cafile=settings.dtp_ca_path or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"DTP_CA_PATH cannot be loaded: {_why(exc)}") from None
    password = settings.dtp_client_key_password.get_secret_value() or None
    try:
        context.load_cert_chain(
            settings.dtp_client_cert_path, settings.dtp_client_key_path or None, password
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"DTP_CLIENT_CERT_PATH / DTP_CLIENT_KEY_PATH cannot be loaded: {_why(exc)}"
        ) from None
    return context


def _why(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc.strerror or type(exc).__name__)
    return exc.strerror or type(exc).__name__


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
        headers: dict[str, str] = {}
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
        self._key_headers = {
            message_type: {KEY_HEADER: key}
            for message_type, key in subscription_keys(settings).items()
        }

    def __repr__(self) -> str:
        return f"DtpClient({self._http.base_url!r})"

    async def send(self, message_type: str, body: dict[str, Any]) -> None:
        """POST `body` to the endpoint of `message_type`."""
        path = self.paths[message_type]
        try:
            await self._http.request(
                "POST", path, json=body, headers=self._key_headers[message_type]
            )
        except HttpStatusError as exc:
            if exc.status in (401, 403):
                # APIM's fixed texts ("invalid subscription key", "Invalid client certificate").
                raise AuthenticationFailed(
                    f"dtp POST {path} answered {exc.status}: {exc.text[:120]}",
                    status=exc.status,
                    text="",
                ) from None
            raise HttpStatusError(
                f"dtp POST {path} answered {exc.status}", status=exc.status, text=""
            ) from None
        except TransientHttpError as exc:
            raise TransientHttpError(
                f"dtp POST {path} failed ({exc.status or 'no answer'})",
                status=exc.status,
                retry_after=exc.retry_after,
                sent=exc.sent,
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

    async def reconcile(self, command: UpsertCommand) -> Written | None:
        """DTP has no read API: an interrupted push cannot be checked, so it is never resent
        blind (proGres would hold the referral or decision twice)."""
        key = command.key.get("id") or command.key.get("progres_interventionnumber") or "?"
        raise PermanentError(
            f"an earlier attempt to send DTP {command.operation} {key} may have reached DTP (it"
            " was interrupted before DTP's answer was recorded) and DTP cannot be asked: not sent"
            " again. Check proGres; if it is missing there, `casebridge dlq replay ID --resend`"
        )

    def left_nothing(self, command: UpsertCommand, error: BaseException) -> bool:
        """A 4xx refusal (APIM or DTP), a refused certificate, a 429 or 503, or no connection at
        all: the message was not taken."""
        if isinstance(error, HttpStatusError | ConfigurationError):
            return True
        return isinstance(error, TransientHttpError) and error.not_taken

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
    for message_type, key in subscription_keys(settings).items():
        if not key:  # every message of this type would be refused (401) and park
            log.warning("dtp_subscription_key_missing", message_type=message_type)
    writer = ProgresWriter(
        DtpClient(settings), TokenBucket(settings.target_rate_per_s, settings.target_burst)
    )
    breaker = CircuitBreaker(
        NAME, failure_threshold=settings.breaker_failures, cooldown_s=settings.breaker_cooldown_s
    )
    return GuardedTarget(writer, store, breaker)
