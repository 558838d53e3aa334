"""Composition: the DTP and control routers behind the journaling/fault middleware."""

from __future__ import annotations

from dtp_sim.api import build_not_found, build_router
from dtp_sim.control import build_control
from dtp_sim.responses import THROTTLE_BODY, error_for_fault
from dtp_sim.state import DtpSim
from simkit.app import compose
from simkit.interception import InterceptionMiddleware


def create_app(sim: DtpSim) -> InterceptionMiddleware:
    return compose(
        "DTP gateway simulator",
        sim,
        [build_router(sim), build_control(sim), build_not_found()],
        error_response=error_for_fault,
        throttle_body=THROTTLE_BODY,
    )
