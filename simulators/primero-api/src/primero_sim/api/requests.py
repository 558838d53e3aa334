"""Reading what a request carries: the authenticated user and the JSON body."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from primero_sim.auth import Principal
from primero_sim.errors import ApiError
from primero_sim.state import SimState


def sim(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


def principal(request: Request) -> Principal:
    """Authenticate or raise (401 Devise body, or 403 CSRF); remembered on request.state."""
    found = sim(request).auth.authenticate(request.headers, request.cookies, request.method)
    request.state.principal = found
    return found


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "Bad Request", "JSON parse error") from exc
