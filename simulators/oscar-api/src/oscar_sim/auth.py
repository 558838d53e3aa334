"""devise_token_auth 0.1.43 as OSCaR configures it for ``AdminUser``.

One token per ``client`` id, a one-week lifespan, no rotation between requests
(``change_headers_on_each_request = false``) and at most ten clients per user: each
sign-in adds one and the earliest-expiring beyond ten are evicted (API.md §2.2).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

SIGN_IN_FAILED = {"success": False, "errors": ["Invalid login credentials. Please try again."]}
UNAUTHENTICATED = {"errors": ["You need to sign in or sign up before continuing."]}
SIGN_OUT_FAILED = {"success": False, "errors": ["User was not found or was not logged in."]}


@dataclass(slots=True)
class Token:
    uid: str
    client: str
    token: str
    expiry: int  # Unix seconds, sent as a string header

    def headers(self) -> dict[str, str]:
        return {
            "access-token": self.token,
            "token-type": "Bearer",
            "client": self.client,
            "expiry": str(self.expiry),
            "uid": self.uid,
        }


class TokenBook:
    def __init__(self, lifespan: timedelta, max_clients: int) -> None:
        self.lifespan = lifespan
        self.max_clients = max_clients
        self._by_uid: dict[str, dict[str, Token]] = {}

    def issue(self, uid: str, now: datetime) -> Token:
        token = Token(
            uid=uid,
            client=secrets.token_urlsafe(16),
            token=secrets.token_urlsafe(16),
            expiry=int((now + self.lifespan).timestamp()),
        )
        clients = self._by_uid.setdefault(uid, {})
        clients[token.client] = token
        while len(clients) > self.max_clients:
            oldest = min(clients.values(), key=lambda t: t.expiry)
            del clients[oldest.client]
        return token

    def validate(
        self, uid: str | None, client: str | None, token: str | None, now: datetime
    ) -> Token | None:
        if not (uid and client and token):
            return None
        found = self._by_uid.get(uid, {}).get(client)
        if found is None or not secrets.compare_digest(found.token, token):
            return None
        return found if found.expiry > now.timestamp() else None

    def revoke(self, uid: str | None, client: str | None) -> bool:
        return self._by_uid.get(uid or "", {}).pop(client or "", None) is not None

    def expire(self, uid: str | None, client: str | None, now: datetime) -> bool:
        found = self._by_uid.get(uid or "", {}).get(client or "")
        if found is None:
            return False
        found.expiry = int(now.timestamp()) - 1
        return True

    def expire_all(self, now: datetime) -> int:
        count = 0
        for clients in self._by_uid.values():
            for token in clients.values():
                token.expiry = int(now.timestamp()) - 1
                count += 1
        return count

    def clients_of(self, uid: str) -> list[Token]:
        return list(self._by_uid.get(uid, {}).values())

    def clear(self) -> None:
        self._by_uid.clear()
