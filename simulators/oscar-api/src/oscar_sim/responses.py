"""Rails' static error pages, and the bodies of injected faults."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

from oscar_sim.reply import Reply
from simkit.responses import json_response

_PAGES = {
    400: "Bad Request",
    500: "We're sorry, but something went wrong.",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
}


def html_page(status: int) -> bytes:
    title = _PAGES.get(status, "Error")
    return (
        f"<!DOCTYPE html><html><head><title>{title} ({status})</title></head>"
        f"<body><h1>{title}</h1></body></html>"
    ).encode()


def html_response(status: int) -> Response:
    return Response(html_page(status), status_code=status, media_type="text/html")


THROTTLE_BODY = orjson.dumps({"errors": ["Too many requests"]})
"""The JSON body of an injected 429 (Rack::Attack-style)."""


def error_for_fault(status: int) -> tuple[str, bytes]:
    """Injected 5xx look like the nginx/Rails pages a JSON client has to survive."""
    return "text/html; charset=utf-8", html_page(status)


def from_reply(reply: Reply, headers: Mapping[str, str] | None = None) -> Response:
    if reply.body is None:
        return html_response(reply.status)
    return json_response(reply.status, reply.body, headers)
