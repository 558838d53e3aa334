"""Composition: the API and control routers behind the journaling/fault middleware."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from oscar_sim.api import build_router
from oscar_sim.control import PREFIX, build_control
from oscar_sim.interception import InterceptionMiddleware
from oscar_sim.responses import error_for_fault
from oscar_sim.state import OscarSim

SIGN_IN_PATH = "/api/v1/admin_auth/sign_in"


def _redact(path: str, body: Any) -> Any:
    """Never journal the admin password."""
    if path.rstrip("/") == SIGN_IN_PATH and isinstance(body, dict) and "password" in body:
        return {**body, "password": "[redacted]"}
    return body


def create_app(sim: OscarSim) -> InterceptionMiddleware:
    api = FastAPI(
        title="OSCaR interop API simulator", openapi_url=None, docs_url=None, redoc_url=None
    )
    api.include_router(build_router(sim))
    api.include_router(build_control(sim))

    def expire_presented_token(headers: dict[str, str]) -> None:
        sim.tokens.expire(headers.get("uid"), headers.get("client"), sim.clock.now())

    return InterceptionMiddleware(
        api,
        control_prefix=PREFIX,
        journal=sim.journal,
        faults=sim.faults,
        connections=sim.connections,
        clock=sim.clock,
        error_response=error_for_fault,
        redact=_redact,
        on_expire_token=expire_presented_token,
    )
