"""Builds the ASGI application for one SimState."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp

from primero_sim import SIM_PREFIX, __version__
from primero_sim.api import cases, referrals, tokens, users
from primero_sim.auth import RateLimited
from primero_sim.control import router as control_router
from primero_sim.errors import WWW_AUTHENTICATE, ApiError, Unauthorized
from primero_sim.gateway import Gateway
from primero_sim.limits import router as limits_router
from primero_sim.responses import OrjsonResponse
from primero_sim.state import SimState
from simkit.control import add_fault_routes


def create_app(state: SimState) -> ASGIApp:
    """FastAPI routes wrapped in the fault/journal gateway."""
    app = FastAPI(
        title="Primero v2 API simulator",
        version=__version__,
        default_response_class=OrjsonResponse,
        docs_url=f"{SIM_PREFIX}/docs",
        openapi_url=f"{SIM_PREFIX}/openapi.json",
        redoc_url=None,
    )
    app.state.sim = state
    for module in (tokens, users, referrals, cases):
        app.include_router(module.router())
    app.include_router(control_router())
    shared = APIRouter(prefix=SIM_PREFIX)
    add_fault_routes(shared, state.faults)
    app.include_router(shared)
    app.include_router(limits_router(state.limits))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return OrjsonResponse(exc.body(request.url.path), exc.status, headers=exc.headers)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> Response:
        return OrjsonResponse(
            {"error": exc.message}, 401, headers={"WWW-Authenticate": WWW_AUTHENTICATE}
        )

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> Response:
        return PlainTextResponse("Retry later\n", 429)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        body = ApiError(exc.status_code, message).body(request.url.path)
        return OrjsonResponse(body, exc.status_code)

    return Gateway(app, state)
