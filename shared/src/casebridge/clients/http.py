"""One keep-alive aiohttp session per external system, and the one place HTTP failures are classed.

aiohttp with a pooled connector reached 12-18x what httpx did on this machine (PERFORMANCE.md
§5), and keep-alive alone is worth +30-55%. Statuses become the failure taxonomy here, so every
client and every service agrees: 429/5xx/timeouts/dropped connections are transient (with the
target's `Retry-After`), other 4xx are permanent. Errors and logs carry the method, the path, the
status and the target's own error text, never a request body, a query value or a credential.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson
import structlog

from casebridge.clients.budget import BudgetLimits, HostBudget, budget_for
from casebridge.errors import ConfigurationError, PermanentError, TransientError

log = structlog.get_logger(__name__)

#: Longest target error text kept in an exception message.
ERROR_TEXT_LIMIT = 300

Params = Mapping[str, str | int | float | bool]


class HttpStatusError(PermanentError):
    """A 4xx other than 429: the request itself is wrong; retrying cannot help."""

    def __init__(self, message: str, *, status: int, text: str) -> None:
        super().__init__(message)
        self.status = status
        self.text = text


class AuthenticationFailed(HttpStatusError, ConfigurationError):
    """The target refused our credentials even after a fresh login.

    Permanent for the request, but it is the deployment's fault, not the record's: a loader may
    prefer to park its queue (TargetUnavailable) instead of dead-lettering every message.
    """


class TlsRefused(ConfigurationError):
    """The TLS handshake failed on a certificate: the target refused ours (its alert: unknown CA,
    bad or missing certificate), or we do not trust the target's. No retry can fix it."""


#: TLS alerts a server sends when it refuses the client's certificate (OpenSSL reason codes).
CERTIFICATE_ALERTS = frozenset(
    {
        "TLSV1_ALERT_UNKNOWN_CA",
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "SSLV3_ALERT_CERTIFICATE_REVOKED",
        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
        "TLSV1_ALERT_ACCESS_DENIED",
    }
)


def certificate_refusal(exc: BaseException) -> str | None:
    """What a failed connection says about certificates, if anything: the refusing TLS alert, or
    our own verification failure of the server's certificate; None for any other failure (a
    reset, an EOF, a timeout stay transient)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, aiohttp.ClientConnectorCertificateError):
            current = current.certificate_error  # aiohttp's wrapper mimics the ssl class
            continue
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"the server's certificate is not trusted ({current.verify_message})"
        reason = getattr(current, "reason", None) if isinstance(current, ssl.SSLError) else None
        if reason in CERTIFICATE_ALERTS:
            return f"the server refused our client certificate ({reason})"
        current = current.__cause__ or current.__context__
    return None


class TransientHttpError(TransientError):
    """429, 5xx, a timeout or a broken connection: the target may answer later.

    `sent` says whether the request may have reached the target: False only when no connection
    could be made (refused, unresolvable, connect timeout), so the target cannot hold any effect
    of it. A writer of once-only operations relies on it (an intent is dropped only then).
    """

    def __init__(
        self, message: str, *, status: int | None, retry_after: float | None, sent: bool = True
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status
        self.sent = sent

    @property
    def not_taken(self) -> bool:
        """The target (or its gateway) did not take the request: no connection was made, or it
        answered 429 (throttled) or 503 (unavailable). A 500, 502 or 504, a timeout or a
        connection lost after sending may follow work the target did."""
        return not self.sent or self.status in (429, 503)


@dataclass(frozen=True)
class HttpResponse:
    """A fully read response (bodies are small JSON documents; reading them frees the socket)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The decoded body, or None when it is empty."""
        return orjson.loads(self.body) if self.body else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_text(body: bytes, limit: int = ERROR_TEXT_LIMIT) -> str:
    """The target's own explanation, compact: JSON error fields, or the text with tags stripped."""
    try:
        decoded = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        decoded = None
    if isinstance(decoded, dict):
        text = _json_error_text(decoded)
    else:
        raw = body.decode("utf-8", errors="replace")
        text = re.sub(r"<[^>]*>", " ", raw)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_error_text(doc: dict[str, Any]) -> str:
    errors = doc.get("errors")
    if isinstance(errors, list) and errors and all(isinstance(e, dict) for e in errors):
        # Primero's envelope: one entry per problem, message (str or list) plus detail.
        parts = []
        for entry in errors:
            message = entry.get("message")
            detail = entry.get("detail")
            part = _flat(message)
            if detail not in (None, ""):
                part = f"{part} ({_flat(detail)})"
            parts.append(part)
        return "; ".join(parts)
    picked = {k: doc[k] for k in ("error", "errors", "message") if k in doc}
    return _flat(picked or doc)


def _flat(value: Any, *, wrapper: bool = True) -> str:
    """Error JSON as one line. A single-key wrapper (`{"message": …}`) is dropped; below it, field
    names stay (`services: can't be blank`): the admin needs to know which field was refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, dict) and value:
        if wrapper and len(value) == 1:
            return _flat(next(iter(value.values())), wrapper=False)
        if all(isinstance(v, str | list | dict) for v in value.values()):
            return "; ".join(f"{k}: {_flat(v, wrapper=False)}" for k, v in value.items())
    return orjson.dumps(value).decode()


def classify(system: str, method: str, path: str, response: HttpResponse) -> None:
    """Raise the failure class of a non-2xx response; return for a 2xx/3xx."""
    status = response.status
    if status < 400:
        return
    text = error_text(response.body)
    message = f"{system} {method} {path} answered {status}: {text}"
    if status == 429 or status >= 500:
        raise TransientHttpError(
            message,
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    raise HttpStatusError(message, status=status, text=text)


class HttpClient:
    """A pooled keep-alive session for one base URL; created on first use inside the loop.

    `request` returns only 2xx/3xx responses (except the statuses a caller asks to see, e.g. 401
    for re-login); everything else is raised as a `TransientHttpError` or `HttpStatusError`.
    Every request holds a slot of the process's budget for the target host (`budget`):
    `concurrency` requests in flight at most and `rate_per_s` on average (0 = unlimited); the
    connection pool has `concurrency` keep-alive connections, so a slot always finds one.
    A slot is waited for before the request's timeout starts.
    """

    def __init__(
        self,
        base_url: str,
        *,
        system: str,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        concurrency: int = 16,
        rate_per_s: float = 0.0,
        default_headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        #: TLS settings of the connections (e.g. a client certificate for mutual TLS).
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self.system = system
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=connect_timeout_s)
        self.limits = BudgetLimits(concurrency, rate_per_s)
        self._budget: HostBudget | None = None
        self._default_headers = {"Accept": "application/json", **(default_headers or {})}
        self._session: aiohttp.ClientSession | None = None

    def _session_now(self) -> tuple[aiohttp.ClientSession, HostBudget]:
        if self._session is None or self._session.closed or self._budget is None:
            self._budget = budget_for(self.base_url, self.limits)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.limits.concurrency,
                    keepalive_timeout=30,
                    enable_cleanup_closed=True,
                    ssl=self._ssl,
                ),
                timeout=self._timeout,
                headers=self._default_headers,
                # Credentials travel only in the headers we set; a cookie jar could silently
                # authenticate (Primero's primero_token cookie) and hide an expired token.
                cookie_jar=aiohttp.DummyCookieJar(),
                raise_for_status=False,
            )
        return self._session, self._budget

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        pass_statuses: frozenset[int] = frozenset(),
    ) -> HttpResponse:
        """Send one request; raise the failure class unless the status is in `pass_statuses`."""
        response = await self._send(method, path, params=params, json=json, headers=headers)
        if response.status not in pass_statuses:
            classify(self.system, method, path, response)
        return response

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> HttpResponse:
        send_headers = dict(headers or {})
        data: bytes | None = None
        if json is not None:
            data = orjson.dumps(json)
            send_headers["Content-Type"] = "application/json"
        session, budget = self._session_now()
        async with budget.slot():
            started = time.perf_counter()
            response = await self._exchange(session, method, path, params, data, send_headers)
        log.debug(
            "http_request",
            system=self.system,
            method=method,
            path=path,
            status=response.status,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        path: str,
        params: Params | None,
        data: bytes | None,
        headers: Mapping[str, str],
    ) -> HttpResponse:
        try:
            async with session.request(
                method,
                self.base_url + path,
                params=_query(params),
                data=data,
                headers=headers,
            ) as resp:
                body = await resp.read()
                return HttpResponse(resp.status, dict(resp.headers), body)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            refusal = certificate_refusal(exc)  # a TLS refusal is a connector error too
            if refusal is not None:
                raise TlsRefused(
                    f"{self.system} {method} {path}: TLS handshake failed: {refusal}"
                ) from exc
            raise TransientHttpError(
                f"{self.system} {method} {path}: no connection ({type(exc).__name__})",
                status=None,
                retry_after=None,
                sent=False,
            ) from exc
        except TimeoutError as exc:
            raise TransientHttpError(
                f"{self.system} {method} {path} timed out", status=None, retry_after=None
            ) from exc
        except aiohttp.InvalidURL as exc:
            raise PermanentError(f"{self.system} {method} {path}: invalid URL") from exc
        except aiohttp.ClientError as exc:
            refusal = certificate_refusal(exc)
            if refusal is not None:
                raise TlsRefused(
                    f"{self.system} {method} {path}: TLS handshake failed: {refusal}"
                ) from exc
            raise TransientHttpError(
                f"{self.system} {method} {path} failed: {type(exc).__name__}",
                status=None,
                retry_after=None,
            ) from exc

    async def close(self) -> None:
        """Close the pooled connections (idempotent)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
            # Let the transports finish closing before the loop goes away (aiohttp advice).
            await asyncio.sleep(0)
        self._session = None


def _query(params: Params | None) -> dict[str, str] | None:
    if not params:
        return None
    return {k: _query_value(v) for k, v in params.items()}


def _query_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
