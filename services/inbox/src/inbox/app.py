"""The webhook routes: key, size, content type, JSON, contract, then the broker's confirm.

Checks run in this order, each with its own status and a JSON body
`{"error", "message", "field"}`: 401 wrong or missing key (constant-time comparison), 413 body
over the limit (by Content-Length, and again while reading), 415 not `application/json`,
400 not JSON, 422 contract broken (naming the field), 503 broker or control store unavailable
(nothing accepted, retry), 202 `{"receipt", "duplicate"}` once the broker confirmed the record.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, Literal

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import REGISTRY, CollectorRegistry, Counter
from pydantic import BaseModel, Field, SecretStr

from casebridge.messages import RawRecord
from inbox.intake import Intake, Unavailable
from inbox.validation import (
    DTP_BODY_SCHEMA,
    PRIMERO_BODY_SCHEMA,
    Invalid,
    dtp_record,
    primero_record,
)

log = structlog.get_logger(__name__)

RETRY_AFTER_S = 5


class ErrorBody(BaseModel):
    """Every refusal: a stable code, a sentence for humans, and the field when one is at fault."""

    error: str = Field(
        description="unauthorized, too_large, unsupported_media_type,"
        " malformed_json, invalid_message, unavailable"
    )
    message: str
    field: str | None = Field(default=None, description="JSON path of the offending field.")


class ReceiptBody(BaseModel):
    """The answer to an accepted delivery: the same receipt for every repeat of one message."""

    status: Literal["accepted"] = "accepted"
    receipt: str = Field(description="Deterministic message id of the published raw record.")
    duplicate: bool = Field(description="True when this message had been accepted before.")


class _Refused(Exception):
    def __init__(self, status: int, error: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.field = status, error, message, field


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Malformed JSON.",
        401: "Missing or wrong API key.",
        413: "Body larger than INBOX_MAX_BODY_BYTES.",
        415: "Content-Type is not application/json.",
        422: "The body breaks the contract; `field` names where.",
        503: "Broker or control store unavailable; nothing was accepted, retry later.",
    }
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}


ERROR_STATUSES = (400, 401, 413, 415, 422, 503)


class InboxMetrics:
    """Requests by route and status (on the shared registry, served on the health port)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        existing = getattr(registry, "_names_to_collectors", {}).get("casebridge_inbox_requests")
        self.requests: Counter = existing or Counter(
            "casebridge_inbox_requests",
            "Webhook requests answered by the inbox, by route and status.",
            ["route", "status"],
            registry=registry,
        )


def create_app(
    intake: Intake,
    *,
    dtp_key: SecretStr,
    primero_key: SecretStr,
    key_header: str = "x-api-key",
    max_body_bytes: int = 1_048_576,
    metrics: InboxMetrics | None = None,
) -> FastAPI:
    """The inbox's ASGI app; the composition root passes the intake and the settings."""
    counters = metrics or InboxMetrics()
    app = FastAPI(
        title="casebridge inbox",
        version="1",
        description=__doc__,
        docs_url=None,
        redoc_url=None,
    )

    async def receive(
        request: Request,
        route: str,
        key: SecretStr,
        build: Callable[[Any], RawRecord],
    ) -> Response:
        try:
            _check_key(request.headers.get(key_header), key)
            body = await _read_json(request, max_body_bytes)
            try:
                record = build(body)
            except Invalid as exc:
                raise _Refused(422, "invalid_message", exc.message, exc.field) from exc
            try:
                receipt = await intake.accept(record)
            except Unavailable as exc:
                raise _Refused(503, "unavailable", str(exc)) from exc
        except _Refused as refused:
            counters.requests.labels(route, str(refused.status)).inc()
            log.info("inbox_refused", route=route, status=refused.status, field=refused.field)
            headers = {"Retry-After": str(RETRY_AFTER_S)} if refused.status == 503 else None
            return JSONResponse(
                ErrorBody(
                    error=refused.error, message=refused.message, field=refused.field
                ).model_dump(),
                status_code=refused.status,
                headers=headers,
            )
        counters.requests.labels(route, "202").inc()
        log.info(
            "inbox_accepted",
            route=route,
            flow=record.flow,
            receipt=receipt.receipt,
            duplicate=receipt.duplicate,
        )
        return JSONResponse(
            ReceiptBody(receipt=receipt.receipt, duplicate=receipt.duplicate).model_dump(),
            status_code=202,
        )

    @app.post(
        "/inbox/dtp",
        status_code=202,
        response_model=ReceiptBody,
        responses=_responses(*ERROR_STATUSES),
        summary="DTP webhook: PrimeroOutgoingReferral (P1) or PrimeroIncomingReferralDecision (P4)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": DTP_BODY_SCHEMA}},
            }
        },
    )
    async def dtp_webhook(request: Request) -> Response:
        return await receive(request, "/inbox/dtp", dtp_key, dtp_record)

    @app.post(
        "/inbox/primero",
        status_code=202,
        response_model=ReceiptBody,
        responses=_responses(*ERROR_STATUSES),
        summary="Primero outgoing case webhook (API.md §1.7) -> P2 decisions",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": PRIMERO_BODY_SCHEMA}},
            }
        },
    )
    async def primero_webhook(request: Request) -> Response:
        return await receive(request, "/inbox/primero", primero_key, primero_record)

    return app


def _check_key(presented: str | None, expected: SecretStr) -> None:
    secret = expected.get_secret_value()
    # An unset key refuses everything; compare_digest keeps the comparison constant-time.
    if not secret or not presented or not hmac.compare_digest(presented.encode(), secret.encode()):
        raise _Refused(401, "unauthorized", "missing or wrong API key")


async def _read_json(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Refused(413, "too_large", f"body is larger than {limit} bytes")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise _Refused(415, "unsupported_media_type", "Content-Type must be application/json")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, "too_large", f"body is larger than {limit} bytes")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise _Refused(400, "malformed_json", "the body is not valid JSON") from exc
