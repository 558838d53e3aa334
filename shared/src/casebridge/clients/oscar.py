"""The OSCaR interop API client that fetcher-oscar and the OSCaR loader share (API.md §2).

devise_token_auth: sign in once, send `access-token`/`client`/`uid` on every call until `expiry`
(a week; tokens are not rotated), and sign in again once on a 401. Every sign-in adds a client
entry on the server, which keeps only ten, so signing in per request would evict our own tokens.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import SecretStr

from casebridge.clients.budget import BudgetLimits
from casebridge.clients.http import (
    AuthenticationFailed,
    HttpClient,
    HttpResponse,
    Params,
    classify,
    error_text,
)
from casebridge.clients.settings import OscarApiSettings
from casebridge.errors import PermanentError

_UNAUTHORIZED = frozenset({401})
_AUTH_HEADERS = ("access-token", "client", "uid")
#: Sign in again this long before the announced expiry, so no call races the deadline.
EXPIRY_MARGIN_S = 60.0

CLIENTS = "/api/v1/organizations/clients"
#: Requests in flight where a service sets nothing (fetcher-oscar: a few feed reads per poll).
DEFAULT_MAX_CONCURRENT_REQUESTS = 8


@dataclass(frozen=True)
class OscarToken:
    """The headers of one sign-in and when they stop working (Unix seconds)."""

    headers: Mapping[str, str]
    expiry: float

    def usable(self, now: float) -> bool:
        """Still valid with a margin to spare."""
        return now < self.expiry - EXPIRY_MARGIN_S


def since_date_param(value: str | date | datetime) -> str:
    """OSCaR's `since_date` text: `YYYY-MM-DD HH:MM:SS` in UTC (what the OpenFn jobs sent)."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d 00:00:00")
    return value


class OscarClient:
    """Typed calls on `/api/v1/organizations/*`; failures are TransientError or PermanentError."""

    def __init__(
        self,
        base_url: str,
        *,
        user: str,
        password: SecretStr,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 10.0,
        max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
        max_requests_per_s: float = 0.0,
    ) -> None:
        self._http = HttpClient(
            base_url,
            system="oscar",
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            concurrency=max_concurrent_requests,
            rate_per_s=max_requests_per_s,
        )
        self._user = user
        self._password = password
        self._token: OscarToken | None = None
        self._sign_in_lock = asyncio.Lock()
        self.sign_ins = 0

    @classmethod
    def from_settings(
        cls, settings: OscarApiSettings, *, limits: BudgetLimits | None = None
    ) -> OscarClient:
        """The client a service's settings describe; `limits` is the request budget the service
        worked out (else the settings' figures, or this client's defaults where unset)."""
        if limits is None:
            limits = BudgetLimits(
                settings.oscar_max_concurrent_requests or DEFAULT_MAX_CONCURRENT_REQUESTS,
                settings.oscar_max_requests_per_s or 0.0,
            )
        return cls(
            settings.oscar_url,
            user=settings.oscar_user,
            password=settings.oscar_password,
            timeout_s=settings.oscar_timeout_s,
            connect_timeout_s=settings.oscar_connect_timeout_s,
            max_concurrent_requests=limits.concurrency,
            max_requests_per_s=limits.rate_per_s,
        )

    @property
    def limits(self) -> BudgetLimits:
        """This client's share of the OSCaR host's request budget (the pool has as many
        connections as requests in flight)."""
        return self._http.limits

    def __repr__(self) -> str:
        return f"OscarClient({self._http.base_url!r}, user={self._user!r})"

    async def list_clients(
        self,
        since_date: str | date | datetime | None = None,
        *,
        end_date: str | date | datetime | None = None,
    ) -> list[dict[str, Any]]:
        """`GET …/clients`: both shapes in one unpaginated list (referred clients first).

        Referred clients are filtered by `since_date` exactly, every other client by its DATE
        (API.md §2.3): callers that must not miss a record query from midnight and dedupe.
        """
        params: dict[str, str] = {}
        if since_date is not None:
            params["since_date"] = since_date_param(since_date)
        if end_date is not None:
            params["end_date"] = since_date_param(end_date)
        doc = (await self._call("GET", CLIENTS, params=params)).json()
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            raise PermanentError("oscar GET /clients answered without a data array")
        return list(doc["data"])

    async def upsert_client(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST …/clients/upsert` with `{"organization": {...}}` (one referral per call)."""
        return await self._write("POST", f"{CLIENTS}/upsert", body)

    async def update_links(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`PUT …/clients/update_links` with `{"data": [{global_id, external_id, …}]}`."""
        return await self._write("PUT", f"{CLIENTS}/update_links", body)

    async def update_statuses(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`PUT …/referrals/update_statuses` with `{"data": [{client_global_id, …}]}`."""
        return await self._write("PUT", "/api/v1/organizations/referrals/update_statuses", body)

    async def close(self) -> None:
        """Release the pooled connections (the token is simply forgotten)."""
        await self._http.close()

    async def _write(self, method: str, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        doc = (await self._call(method, path, json=dict(body))).json()
        return dict(doc) if isinstance(doc, dict) else {}

    async def _call(
        self, method: str, path: str, *, params: Params | None = None, json: Any = None
    ) -> HttpResponse:
        """Send with the token headers; on a 401 sign in again once, then give up."""
        token = await self._current_token()
        response = await self._http.request(
            method,
            path,
            params=params,
            json=json,
            headers=token.headers,
            pass_statuses=_UNAUTHORIZED,
        )
        if response.status == 401:
            token = await self._current_token(stale=token)
            response = await self._http.request(
                method,
                path,
                params=params,
                json=json,
                headers=token.headers,
                pass_statuses=_UNAUTHORIZED,
            )
        if response.status == 401:
            text = error_text(response.body)
            raise AuthenticationFailed(
                f"oscar {method} {path} answered 401: {text}", status=401, text=text
            )
        return response

    async def _current_token(self, stale: OscarToken | None = None) -> OscarToken:
        async with self._sign_in_lock:
            token = self._token
            if token is None or token is stale or not token.usable(time.time()):
                token = self._token = await self._sign_in()
            return token

    async def _sign_in(self) -> OscarToken:
        body = {"email": self._user, "password": self._password.get_secret_value()}
        path = "/api/v1/admin_auth/sign_in"
        response = await self._http.request("POST", path, json=body, pass_statuses=_UNAUTHORIZED)
        if response.status == 401:
            text = error_text(response.body)
            raise AuthenticationFailed(f"oscar sign-in refused: {text}", status=401, text=text)
        classify("oscar", "POST", path, response)
        lowered = {k.lower(): v for k, v in response.headers.items()}
        missing = [name for name in _AUTH_HEADERS if not lowered.get(name)]
        if missing:
            raise AuthenticationFailed(
                f"oscar sign-in answered without {', '.join(missing)} headers",
                status=response.status,
                text="",
            )
        self.sign_ins += 1
        try:
            expiry = float(lowered.get("expiry", ""))
        except ValueError:
            expiry = time.time() + 3600.0  # no usable expiry: re-check within the hour
        return OscarToken({name: lowered[name] for name in _AUTH_HEADERS}, expiry)
