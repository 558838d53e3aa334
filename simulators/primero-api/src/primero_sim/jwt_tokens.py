"""Minimal HS256 JWTs, enough to mimic devise-jwt's tokens (sub, scp, iat, exp, jti).

Hand-rolled with ``hmac`` so the simulator needs no JWT dependency; the
signature is real, so tampered tokens are rejected like on the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

_HEADER = {"alg": "HS256"}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(claims: dict[str, Any], secret: bytes) -> str:
    signing_input = _b64(orjson.dumps(_HEADER)) + "." + _b64(orjson.dumps(claims))
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def decode(token: str, secret: bytes) -> dict[str, Any] | None:
    """Claims if the signature verifies, else None; expiry is the caller's concern."""
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(secret, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            return None
        claims = orjson.loads(_unb64(payload))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return claims if isinstance(claims, dict) else None
