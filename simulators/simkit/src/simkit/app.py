"""Composition: a simulator's routers in one FastAPI app, behind the journaling/fault middleware."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI

from simkit.control import PREFIX
from simkit.interception import Instrumented, InterceptionMiddleware, keep_body


def compose(
    title: str,
    sim: Instrumented,
    routers: Iterable[APIRouter],
    *,
    error_response: Callable[[int], tuple[str, bytes]],
    throttle_body: bytes,
    redact: Callable[[str, Any], Any] = keep_body,
    on_expire_token: Callable[[dict[str, str]], None] | None = None,
    control_prefix: str = PREFIX,
) -> InterceptionMiddleware:
    """The routers (API first, then the control surface) with no OpenAPI or docs pages,
    wrapped in ``InterceptionMiddleware`` wired to ``sim``'s clock, connections, journal
    and faults; requests under ``control_prefix`` bypass the middleware.
    """
    api = FastAPI(title=title, openapi_url=None, docs_url=None, redoc_url=None)
    for router in routers:
        api.include_router(router)
    return InterceptionMiddleware.around(
        api,
        sim,
        control_prefix=control_prefix,
        error_response=error_response,
        throttle_body=throttle_body,
        redact=redact,
        on_expire_token=on_expire_token,
    )
