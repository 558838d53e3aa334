"""The JSON bodies the APIM gateway returns for injected 5xx and 429."""

from __future__ import annotations

import orjson

THROTTLE_BODY = orjson.dumps(
    {"statusCode": 429, "message": "Rate limit is exceeded. Try again later."}
)


def error_for_fault(status: int) -> tuple[str, bytes]:
    return "application/json", orjson.dumps({"statusCode": status, "message": "Backend error"})
