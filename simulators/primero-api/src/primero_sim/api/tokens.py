"""``POST/DELETE /api/v2/tokens``: login, JWT refresh, logout."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from primero_sim.api.requests import json_body, principal, sim
from primero_sim.auth import CSRF_COOKIE, JWT_COOKIE, LoginResult
from primero_sim.errors import INVALID_LOGIN, Unauthorized

JSON = "application/json"
_COOKIE_FLAGS = {
    "_app_session": {"httponly": True, "samesite": "lax"},
    CSRF_COOKIE: {"httponly": False, "samesite": "strict"},
    JWT_COOKIE: {"httponly": True, "samesite": "strict"},
}


def _respond(result: LoginResult) -> Response:
    response = Response(orjson.dumps(result.body), media_type=JSON, headers=result.headers)
    for name, value in result.cookies.items():
        flags = _COOKIE_FLAGS.get(name, {})
        response.set_cookie(
            name,
            value,
            max_age=3600,
            path="/",
            httponly=bool(flags.get("httponly")),
            samesite=str(flags.get("samesite", "lax")),  # type: ignore[arg-type]
        )
    return response


def router() -> APIRouter:
    routes = APIRouter()

    @routes.post("/api/v2/tokens")
    async def login(request: Request) -> Response:
        state = sim(request)
        body = await json_body(request)
        creds = body.get("user") if isinstance(body, dict) else None
        user_name = creds.get("user_name") if isinstance(creds, dict) else None
        if not isinstance(user_name, str) or not user_name.strip():
            # No credentials: a JWT-era refresh with a still-valid bearer, else 401.
            if state.auth.regime == "jwt" and "authorization" in request.headers:
                return _respond(state.auth.refresh(principal(request)))
            raise Unauthorized(INVALID_LOGIN)
        state.auth.throttle_login(user_name)
        password = creds.get("password") if isinstance(creds, dict) else None
        user = state.auth.check_password(user_name, password if isinstance(password, str) else "")
        return _respond(state.auth.login(user))

    @routes.delete("/api/v2/tokens")
    async def logout(request: Request) -> Response:
        state = sim(request)
        state.auth.logout(principal(request))
        response = Response(b"{}", media_type=JSON)
        for name in ("_app_session", CSRF_COOKIE, JWT_COOKIE):
            if name in request.cookies:
                response.delete_cookie(name, path="/")
        return response

    return routes
