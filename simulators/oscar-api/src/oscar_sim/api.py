"""The simulated OSCaR endpoints (API.md §2.2-2.3), with and without OpenFn's trailing slash."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from oscar_sim import feed
from oscar_sim.auth import SIGN_IN_FAILED, SIGN_OUT_FAILED, UNAUTHENTICATED, Token
from oscar_sim.blank import presence
from oscar_sim.links import update_links, update_statuses
from oscar_sim.responses import from_reply, html_response
from oscar_sim.state import OscarSim
from oscar_sim.timeparse import parse_time
from oscar_sim.upsert import upsert
from simkit.responses import json_response

Handler = Callable[[Request], Awaitable[Response]]
_MALFORMED = object()


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _MALFORMED


def build_router(sim: OscarSim) -> APIRouter:
    router = APIRouter()

    def route(method: str, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for variant in (path, path + "/"):
                router.add_api_route(variant, handler, methods=[method], include_in_schema=False)
            return handler

        return register

    def authenticated(request: Request) -> Token | None:
        h = request.headers
        return sim.tokens.validate(
            h.get("uid"), h.get("client"), h.get("access-token"), sim.clock.now()
        )

    def refused() -> Response:
        return json_response(401, UNAUTHENTICATED)

    @route("POST", "/api/v1/admin_auth/sign_in")
    async def sign_in(request: Request) -> Response:
        body = await _json_body(request)
        if body is _MALFORMED:
            return html_response(400)
        email = body.get("email") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if email != sim.config.email or password != sim.config.password:
            return json_response(401, SIGN_IN_FAILED)
        token = sim.tokens.issue(sim.config.email, sim.clock.now())
        user = {
            "id": 1,
            "email": sim.config.email,
            "provider": "email",
            "uid": sim.config.email,
            "first_name": "API",
            "last_name": "User",
            "token": None,
            "role": "viewer",
        }
        return json_response(200, {"data": user}, token.headers())

    @route("DELETE", "/api/v1/admin_auth/sign_out")
    async def sign_out(request: Request) -> Response:
        token = authenticated(request)
        if token is None or not sim.tokens.revoke(token.uid, token.client):
            return json_response(404, SIGN_OUT_FAILED)
        return json_response(200, {"success": True})

    @route("GET", "/api/v1/organizations/clients")
    async def clients(request: Request) -> Response:
        token = authenticated(request)
        if token is None:
            return refused()
        since_raw = presence(request.query_params.get("since_date"))
        end_raw = presence(request.query_params.get("end_date"))
        since = parse_time(since_raw) if since_raw is not None else None
        end = parse_time(end_raw) if end_raw is not None else None
        if (since_raw is not None and since is None) or (end_raw is not None and end is None):
            return html_response(500)  # Time.parse raises on garbage
        items = feed.select(sim.store, sim.external_system, since, end)
        return json_response(200, {"data": items}, token.headers())

    @route("POST", "/api/v1/organizations/clients/upsert")
    async def upsert_client(request: Request) -> Response:
        token = authenticated(request)
        if token is None:
            return refused()
        body = await _json_body(request)
        if body is _MALFORMED:
            return html_response(400)
        reply = upsert(sim.store, body, sim.external_system, sim.clock.now())
        return from_reply(reply, token.headers())

    @route("PUT", "/api/v1/organizations/clients/update_links")
    async def links(request: Request) -> Response:
        token = authenticated(request)
        if token is None:
            return refused()
        body = await _json_body(request)
        if body is _MALFORMED:
            return html_response(400)
        return from_reply(update_links(sim.store, body, sim.clock.now()), token.headers())

    @route("PUT", "/api/v1/organizations/referrals/update_statuses")
    async def statuses(request: Request) -> Response:
        # Not behind authenticate_api_admin_user! in oscar-web: no token check here.
        body = await _json_body(request)
        if body is _MALFORMED:
            return html_response(400)
        return from_reply(update_statuses(sim.store, body))

    @route("GET", "/api/v1/organizations")
    async def organizations(request: Request) -> Response:
        visible = [
            {"id": t.id, "full_name": t.name.upper(), "short_name": t.name}
            for t in sim.store.tenants.values()
        ]
        return json_response(200, visible)

    return router
