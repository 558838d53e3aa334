"""Composition: the DTP and control routers behind the journaling/fault middleware."""

from __future__ import annotations

from fastapi import FastAPI

from dtp_sim.api import build_router
from dtp_sim.control import PREFIX, build_control
from dtp_sim.interception import InterceptionMiddleware
from dtp_sim.responses import error_for_fault
from dtp_sim.state import DtpSim


def create_app(sim: DtpSim) -> InterceptionMiddleware:
    api = FastAPI(title="DTP gateway simulator", openapi_url=None, docs_url=None, redoc_url=None)
    api.include_router(build_router(sim))
    api.include_router(build_control(sim))
    return InterceptionMiddleware(
        api,
        control_prefix=PREFIX,
        journal=sim.journal,
        faults=sim.faults,
        connections=sim.connections,
        clock=sim.clock,
        error_response=error_for_fault,
    )
