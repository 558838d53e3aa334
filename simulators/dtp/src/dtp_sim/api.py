"""The DTP endpoints casebridge POSTs to (API.md §3.3): gate, then record.

DTP's response bodies are undocumented and the jobs ignore them (any 2xx is success), so
an accepted message gets ``200 {"status": "received", "message_id": ...}``. Any other method or
path (``/Feedback`` included: the spec has no such operation) gets APIM's 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from dtp_sim.endpoints import ENDPOINTS
from dtp_sim.gateway import NOT_FOUND_BODY, check
from dtp_sim.state import DtpSim, Received
from simkit.responses import json_response

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def build_router(sim: DtpSim) -> APIRouter:
    router = APIRouter()
    base = sim.config.base_path.rstrip("/")

    def endpoint_handler(endpoint: str) -> Callable[[Request], Awaitable[Response]]:
        async def receive(request: Request) -> Response:
            client = request.client
            verified = client is not None and (client.host, client.port) in sim.tls_peers
            refusal = check(endpoint, request.headers, sim.config, handshake_verified=verified)
            if refusal is not None:
                return json_response(refusal.status, refusal.body)
            try:
                body = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                return json_response(400, {"statusCode": 400, "message": "Body is not JSON."})
            if not isinstance(body, dict):
                return json_response(
                    400, {"statusCode": 400, "message": "Body must be a JSON object."}
                )
            message_id = str(uuid.uuid4())
            sim.received.append(
                Received(len(sim.received) + 1, endpoint, body, sim.clock.now(), message_id)
            )
            return json_response(200, {"status": "received", "message_id": message_id})

        return receive

    for endpoint in ENDPOINTS:
        router.add_api_route(
            f"{base}/{endpoint}",
            endpoint_handler(endpoint),
            methods=["POST"],
            include_in_schema=False,
        )
    return router


def build_not_found() -> APIRouter:
    """The catch-all, mounted after every other router (the control surface included)."""
    router = APIRouter()

    async def unknown_operation(request: Request) -> Response:
        return json_response(404, NOT_FOUND_BODY)

    router.add_api_route(
        "/{path:path}", unknown_operation, methods=_ALL_METHODS, include_in_schema=False
    )
    return router
