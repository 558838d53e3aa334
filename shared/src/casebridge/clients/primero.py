"""The Primero v2 API client that fetchers and the Primero loader share (API.md §1).

HTTP Basic by default: it works on every Primero version, creates no session and needs no CSRF
token (API.md §1.1 "rule for production clients"). The v2.10 JWT regime is supported for
servers that refuse Basic: log in once, reuse the bearer, and on a 401 log in again once.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from pydantic import SecretStr

from casebridge.clients.http import (
    AuthenticationFailed,
    HttpClient,
    HttpResponse,
    Params,
    classify,
    error_text,
)
from casebridge.clients.primero_filters import check_records
from casebridge.clients.retry import ReadRetry
from casebridge.clients.settings import PrimeroApiSettings
from casebridge.errors import PermanentError

PrimeroAuth = Literal["basic", "jwt"]

#: Primero caps `per` at 1000 since v2.10.3 (API.md §1.4); asking for more is silently cut.
MAX_PER = 1000

_UNAUTHORIZED = frozenset({401})


#: The index's sort when the query names none (Primero orders by `created_at`).
DEFAULT_ORDER = "created_at"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CasePage:
    """One page of `GET /api/v2/cases`: the records and the server's paging metadata."""

    records: list[dict[str, Any]]
    total: int
    per: int
    page: int


class PrimeroClient:
    """Typed calls on `/api/v2`; every failure is a TransientError or a PermanentError."""

    def __init__(
        self,
        base_url: str,
        *,
        user: str,
        password: SecretStr,
        auth: PrimeroAuth = "basic",
        timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        concurrency: int = 16,
        rate_per_s: float = 0.0,
        read_retry: ReadRetry | None = None,
    ) -> None:
        """`concurrency` / `rate_per_s`: this client's share of the process's budget for the
        Primero host (see `HttpClient`); `read_retry`: how a failed GET is sent again in place
        (default: not at all; the fetcher retries, the loader leaves it to the retry tiers)."""
        self._http = HttpClient(
            base_url,
            system="primero",
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            concurrency=concurrency,
            rate_per_s=rate_per_s,
        )
        self._read_retry = read_retry or ReadRetry()
        self._user = user
        self._password = password
        self.auth = auth
        self._token: str | None = None
        self._login_lock = asyncio.Lock()

    @classmethod
    def from_settings(
        cls, settings: PrimeroApiSettings, *, read_retry: ReadRetry | None = None
    ) -> PrimeroClient:
        """The client a service's settings describe."""
        return cls(
            settings.primero_url,
            user=settings.primero_user,
            password=settings.primero_password,
            auth=settings.primero_auth,
            timeout_s=settings.primero_timeout_s,
            connect_timeout_s=settings.primero_connect_timeout_s,
            concurrency=settings.primero_max_concurrent_requests,
            rate_per_s=settings.primero_max_requests_per_s,
            read_retry=read_retry,
        )

    def __repr__(self) -> str:
        return f"PrimeroClient({self._http.base_url!r}, user={self._user!r}, auth={self.auth!r})"

    # -- cases ----------------------------------------------------------------------------

    async def list_cases(
        self, params: Params | None = None, *, page: int = 1, per: int = MAX_PER
    ) -> CasePage:
        """One page of the cases index with `params` as filters (grammar in API.md §1.4)."""
        query = {**(params or {}), "page": page, "per": min(per, MAX_PER)}
        doc = await self._get_json("/api/v2/cases", query)
        meta = doc.get("metadata") or {}
        records = list(doc.get("data") or [])
        return CasePage(
            records=records,
            total=int(meta.get("total", len(records))),
            per=int(meta.get("per", min(per, MAX_PER))),
            page=int(meta.get("page", page)),
        )

    async def iter_case_pages(
        self, params: Params | None = None, *, per: int = MAX_PER
    ) -> AsyncIterator[CasePage]:
        """Every page of one query, the same filters on each, until a short or empty page.

        A short page ends it rather than `total`, so records added while paging are still read
        (the old jobs read page 1 only and lost the rest, MAPPINGS §E.4).

        Primero sorts by one column, no tiebreaker (`sql_order_query_service.rb`): records with the
        same sort value may swap between the queries of two pages, so a group of equal values
        that straddles a page boundary can show one record twice and another never. Where a
        page starts with the value the previous page ended on, that value's records are read
        again at the end (the value as a range filter, whole pages of `MAX_PER`); callers drop
        what they already have by message id, as they do for the overlap re-read. No page is
        held while the next is fetched.
        """
        order_field = str((params or {}).get("order_by") or DEFAULT_ORDER)
        straddled: list[str] = []
        previous_last: Any = None
        page = 1
        while True:
            result = await self.list_cases(params, page=page, per=per)
            size, page_per = len(result.records), result.per
            if size:
                first = result.records[0].get(order_field)
                if first is not None and first == previous_last and first not in straddled:
                    straddled.append(str(first))
                previous_last = result.records[-1].get(order_field)
                yield result
            del result
            if size < max(1, page_per):
                break
            page += 1
        for value in straddled:
            async for tie_page in self._tie_group(params, order_field, value):
                yield tie_page

    async def _tie_group(
        self, params: Params | None, order_field: str, value: str
    ) -> AsyncIterator[CasePage]:
        """Every record whose sort value is `value` (Primero compares ranges at whole seconds:
        the range `value..value` holds the group, and its second's other records)."""
        tie_params = {**(params or {}), order_field: f"{value}..{value}"}
        page = 1
        while True:
            result = await self.list_cases(tie_params, page=page, per=MAX_PER)
            size, page_per = len(result.records), result.per
            if size:
                yield result
            del result
            if size < max(1, page_per):
                return
            if page == 1:  # the group itself straddles pages of MAX_PER: say so, go on
                log.warning("primero_tie_group_over_a_page", order_field=order_field)
            page += 1

    async def get_case(self, case_id: str) -> dict[str, Any]:
        """One case by its record `id` (UUID)."""
        doc = await self._get_json(f"/api/v2/cases/{case_id}")
        return dict(doc.get("data") or {})

    async def find_cases(self, **filters: str) -> list[dict[str, Any]]:
        """Every case matching exact filters, e.g. `case_id=…` or `oscar_number=…`.

        At least one non-empty filter is required: the old `upsertCase` sent none when every
        key was blank and then updated an arbitrary first case (MAPPINGS §0.1). A record
        without a filtered field shows Primero dropped that filter (the role cannot read the
        field): the lookup stops at that page with `FilterIgnored`, never reading on through
        the whole index, and never answering "no such case" on that basis.
        """
        given = {k: v for k, v in filters.items() if v not in (None, "")}
        if not given:
            raise PermanentError("find_cases needs at least one non-empty filter")
        found: list[dict[str, Any]] = []
        async for page in self.iter_case_pages(given):
            check_records(page.records, given, exact_values=False)
            found.extend(page.records)
        return found

    async def create_case(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /api/v2/cases`; the saved fields, or `{}` when Primero answers 204."""
        response = await self._call("POST", "/api/v2/cases", json={"data": dict(data)})
        doc = response.json()
        return dict(doc.get("data") or {}) if isinstance(doc, dict) else {}

    async def update_case(self, case_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """`PATCH /api/v2/cases/:id` (Primero merges; subform rows by `unique_id`)."""
        response = await self._call("PATCH", f"/api/v2/cases/{case_id}", json={"data": dict(data)})
        doc = response.json()
        return dict(doc.get("data") or {}) if isinstance(doc, dict) else {}

    # -- referrals --------------------------------------------------------------------------

    async def list_referrals(self, case_id: str) -> list[dict[str, Any]]:
        """A case's referrals (unpaginated), by the case's record `id`."""
        doc = await self._get_json(f"/api/v2/cases/{case_id}/referrals")
        return list(doc.get("data") or [])

    async def update_referral(
        self, case_id: str, referral_id: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """`PATCH /api/v2/cases/:case_id/referrals/:id` (status accepted/rejected/done)."""
        response = await self._call(
            "PATCH", f"/api/v2/cases/{case_id}/referrals/{referral_id}", json={"data": dict(data)}
        )
        doc = response.json()
        return dict(doc.get("data") or {}) if isinstance(doc, dict) else {}

    # -- users ------------------------------------------------------------------------------

    async def list_users(self, params: Params | None = None) -> list[dict[str, Any]]:
        """Every user (the users index pages like records, 1000 at most per page)."""
        users: list[dict[str, Any]] = []
        page = 1
        while True:
            doc = await self._get_json(
                "/api/v2/users", {**(params or {}), "page": page, "per": MAX_PER}
            )
            batch = list(doc.get("data") or [])
            users.extend(batch)
            per = int((doc.get("metadata") or {}).get("per", MAX_PER))
            if len(batch) < max(1, per):
                return users
            page += 1

    async def close(self) -> None:
        """Release the pooled connections."""
        await self._http.close()

    # -- plumbing ---------------------------------------------------------------------------

    async def _get_json(self, path: str, params: Params | None = None) -> dict[str, Any]:
        response = await self._read_retry.run(
            lambda: self._call("GET", path, params=params), what=f"primero GET {path}"
        )
        doc = response.json()
        if not isinstance(doc, dict):
            raise PermanentError(f"primero GET {path} answered with a non-object body")
        return doc

    async def _call(
        self, method: str, path: str, *, params: Params | None = None, json: Any = None
    ) -> HttpResponse:
        """Send with credentials; on 401 log in again once (JWT), then give up permanently."""
        headers = await self._auth_headers()
        response = await self._http.request(
            method, path, params=params, json=json, headers=headers, pass_statuses=_UNAUTHORIZED
        )
        if response.status == 401 and self.auth == "jwt":
            headers = await self._auth_headers(stale=headers)
            response = await self._http.request(
                method, path, params=params, json=json, headers=headers, pass_statuses=_UNAUTHORIZED
            )
        if response.status == 401:
            raise AuthenticationFailed(
                f"primero {method} {path} answered 401: {error_text(response.body)}",
                status=401,
                text=error_text(response.body),
            )
        return response

    async def _auth_headers(self, stale: Mapping[str, str] | None = None) -> dict[str, str]:
        if self.auth == "basic":
            raw = f"{self._user}:{self._password.get_secret_value()}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        async with self._login_lock:
            # Concurrent 401s share one re-login: only the first caller still holds the stale
            # token; the others find a fresh one (Primero throttles logins to 6/min per user).
            stale_token = (stale or {}).get("Authorization")
            if self._token is None or f"Bearer {self._token}" == stale_token:
                self._token = await self._login()
            return {"Authorization": f"Bearer {self._token}"}

    async def _login(self) -> str:
        body = {"user": {"user_name": self._user, "password": self._password.get_secret_value()}}
        response = await self._http.request(
            "POST", "/api/v2/tokens", json=body, pass_statuses=_UNAUTHORIZED
        )
        if response.status == 401:
            raise AuthenticationFailed(
                f"primero login refused: {error_text(response.body)}",
                status=401,
                text=error_text(response.body),
            )
        classify("primero", "POST", "/api/v2/tokens", response)
        doc = response.json()
        token = doc.get("token") if isinstance(doc, dict) else None
        if not token:
            header = response.headers.get("Authorization", "")
            token = header.removeprefix("Bearer ").strip() or None
        if not token:
            raise AuthenticationFailed(
                "primero login returned no token (session-regime server? use PRIMERO_AUTH=basic)",
                status=response.status,
                text="",
            )
        return str(token)
