"""The ``/__sim/`` control surface: reset, seed, inspect writes, clock, config.

The fault routes are simkit's (``simkit.control.add_fault_routes``), the same on every
simulator; the proxy limits have theirs in ``limits``.

No authentication, and the real API never serves this prefix, so clients under
test cannot reach it by accident.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from primero_sim import SIM_PREFIX
from primero_sim.api.requests import json_body, sim
from primero_sim.errors import ApiError
from primero_sim.users import configure

JSON = "application/json"


def _ok(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=JSON)


def _body(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}


def router() -> APIRouter:
    routes = APIRouter(prefix=SIM_PREFIX)

    @routes.get("/health")
    async def health(request: Request) -> Response:
        return _ok({"ok": True, **sim(request).summary()})

    @routes.post("/reset")
    async def reset(request: Request) -> Response:
        state = sim(request)
        state.reset()
        body = _body(await json_body(request))
        if "auth_regime" in body or "csrf_protection" in body:
            state.set_regime(
                body.get("auth_regime", state.auth.regime), body.get("csrf_protection")
            )
        return _ok(state.summary())

    @routes.post("/seed")
    async def seed(request: Request) -> Response:
        state = sim(request)
        body = _body(await json_body(request))
        if body.get("replace", True):
            state.store.clear()
        source = body.get("source", "samples")
        if source == "samples":
            return _ok(state.seed_samples())
        if source == "generated":
            count = int(body.get("count", 100))
            profile = body.get("profile", "mixed")
            if profile not in ("mixed", "cambodia", "gambella"):
                raise ApiError(400, "profile must be mixed, cambodia or gambella")
            return _ok(state.seed_generated(count, int(body.get("seed", 42)), profile))
        raise ApiError(400, "source must be 'samples' or 'generated'")

    @routes.get("/writes")
    async def writes(request: Request) -> Response:
        since = int(request.query_params.get("since", "0"))
        entries = [w.as_dict() for w in sim(request).journal.entries() if w.seq > since]
        return _ok({"data": entries})

    @routes.delete("/writes")
    async def clear_writes(request: Request) -> Response:
        sim(request).journal.clear()
        return _ok({})

    @routes.post("/tokens/expire")
    async def expire_tokens(request: Request) -> Response:
        return _ok({"expired": sim(request).auth.expire_all()})

    @routes.post("/clock")
    async def clock(request: Request) -> Response:
        state = sim(request)
        body = _body(await json_body(request))
        if body.get("reset"):
            state.clock.reset()
        state.clock.advance(float(body.get("advance_seconds", 0)))
        return _ok({"offset_seconds": state.clock.offset_seconds})

    @routes.put("/config")
    async def config(request: Request) -> Response:
        state = sim(request)
        body = _body(await json_body(request))
        regime = body.get("auth_regime", state.auth.regime)
        if regime not in ("jwt", "session"):
            raise ApiError(400, "auth_regime must be 'jwt' or 'session'")
        state.set_regime(regime, body.get("csrf_protection"))
        if "config_locked" in body:
            state.config_locked = int(body["config_locked"] or 0)
        return _ok(state.summary())

    @routes.put("/users/{user_name}")
    async def configure_user(user_name: str, request: Request) -> Response:
        """Set a user's role: ``group_permission``, ``unreadable_fields``, ``can_index_users``,
        or ``disabled`` (until the next reset)."""
        user = sim(request).directory.get(user_name)
        if user is None:
            raise ApiError(404, "Not Found", f"no user {user_name}")
        try:
            configure(user, _body(await json_body(request)))
        except ValueError as exc:
            raise ApiError(400, str(exc)) from exc
        return _ok(
            {
                "user_name": user.user_name,
                "group_permission": user.group_permission,
                "unreadable_fields": sorted(user.unreadable_fields),
                "can_index_users": user.can_index_users,
                "disabled": user.disabled,
            }
        )

    @routes.get("/cases/{record_id}")
    async def raw_case(record_id: str, request: Request) -> Response:
        """The stored record plus its referrals, bypassing auth (for assertions)."""
        state = sim(request)
        record = state.store.get(record_id)
        if record is None:
            raise ApiError(404, "Not Found")
        return _ok({"data": record, "referrals": state.store.referrals.get(record_id, [])})

    return routes
