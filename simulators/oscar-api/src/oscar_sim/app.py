"""Composition: the API and control routers behind the journaling/fault middleware."""

from __future__ import annotations

from typing import Any

from oscar_sim.api import build_router
from oscar_sim.control import build_control
from oscar_sim.responses import THROTTLE_BODY, error_for_fault
from oscar_sim.state import OscarSim
from simkit.app import compose
from simkit.interception import InterceptionMiddleware

SIGN_IN_PATH = "/api/v1/admin_auth/sign_in"


def _redact(path: str, body: Any) -> Any:
    """Never journal the admin password."""
    if path.rstrip("/") == SIGN_IN_PATH and isinstance(body, dict) and "password" in body:
        return {**body, "password": "[redacted]"}
    return body


def create_app(sim: OscarSim) -> InterceptionMiddleware:
    def expire_presented_token(headers: dict[str, str]) -> None:
        sim.tokens.expire(headers.get("uid"), headers.get("client"), sim.clock.now())

    return compose(
        "OSCaR interop API simulator",
        sim,
        [build_router(sim), build_control(sim)],
        error_response=error_for_fault,
        throttle_body=THROTTLE_BODY,
        redact=_redact,
        on_expire_token=expire_presented_token,
    )
