"""``/api/v2/cases/:id/referrals`` and the bulk ``/api/v2/cases/referrals``."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from primero_sim.api.requests import json_body, principal, sim

JSON = "application/json"


def _ok(data: object) -> Response:
    return Response(orjson.dumps({"data": data}), media_type=JSON)


def router() -> APIRouter:
    routes = APIRouter()

    @routes.post("/api/v2/cases/referrals")
    async def create_bulk(request: Request) -> Response:
        user = principal(request).user
        return _ok(sim(request).referrals.create_bulk(await json_body(request), user))

    @routes.get("/api/v2/cases/{record_id}/referrals")
    async def index(record_id: str, request: Request) -> Response:
        """Unpaginated, no metadata (transitions/index.json.jbuilder)."""
        user = principal(request).user
        return _ok(sim(request).referrals.for_case(record_id, user))

    @routes.post("/api/v2/cases/{record_id}/referrals")
    async def create(record_id: str, request: Request) -> Response:
        user = principal(request).user
        return _ok(sim(request).referrals.create(record_id, await json_body(request), user))

    @routes.patch("/api/v2/cases/{record_id}/referrals/{referral_id}")
    async def update(record_id: str, referral_id: str, request: Request) -> Response:
        user = principal(request).user
        body = await json_body(request)
        return _ok(sim(request).referrals.update(record_id, referral_id, body, user))

    @routes.delete("/api/v2/cases/{record_id}/referrals/{referral_id}")
    async def revoke(record_id: str, referral_id: str, request: Request) -> Response:
        user = principal(request).user
        return _ok(sim(request).referrals.revoke(record_id, referral_id, user))

    return routes
