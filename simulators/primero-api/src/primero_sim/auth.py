"""Primero's authentication: HTTP Basic always, plus one login regime.

``jwt`` mimics v2.0-v2.10 (devise-jwt, 1 h tokens, jti allow-list, refresh by
POSTing with a bearer, DELETE revokes). ``session`` mimics v2.11+ (``_app_session``
cookie, ``CSRF-TOKEN`` cookie echoed in ``X-CSRF-Token`` on writes, a new login
expires the user's other sessions). Devise lockable (6 failures lock for 30 min)
and the rack-attack login throttle (more than 6 per user_name per 60 s) apply to both.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from primero_sim import jwt_tokens
from primero_sim.clock import Clock
from primero_sim.errors import (
    ACCOUNT_LOCKED,
    INVALID_LOGIN,
    JWT_EXPIRED,
    SESSION_EXPIRED,
    SIGN_IN_REQUIRED,
    Unauthorized,
    csrf_failed,
)
from primero_sim.users import Directory, User

Regime = Literal["jwt", "session"]
TOKEN_LIFETIME_S = 3600
SESSION_TIMEOUT_S = 3600
MAX_FAILED_ATTEMPTS = 6
LOCK_S = 30 * 60
LOGIN_LIMIT = 6
LOGIN_WINDOW_S = 60
SESSION_COOKIE = "_app_session"
CSRF_COOKIE = "CSRF-TOKEN"
JWT_COOKIE = "primero_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RateLimited(Exception):
    """rack-attack's throttle: 429 ``text/plain`` "Retry later"."""


@dataclass
class Principal:
    user: User
    via: Literal["basic", "jwt", "session"]
    credential: str | None = None


@dataclass
class Session:
    user_name: str
    csrf: str
    last_seen: float
    expired: bool = False


@dataclass
class LoginResult:
    body: dict[str, object]
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


@dataclass
class _Lock:
    failures: int = 0
    locked_until: float = 0.0


class Authenticator:
    """All credential state; thread-safe so tests may poke it from outside the server."""

    def __init__(self, directory: Directory, clock: Clock, regime: Regime = "jwt") -> None:
        self.directory = directory
        self.clock = clock
        self.regime: Regime = regime
        self.csrf_protection = True
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._jwts: dict[str, float] = {}  # jti -> exp (allow-list)
        self._sessions: dict[str, Session] = {}
        self._locks: dict[str, _Lock] = {}
        self._logins: dict[str, deque[float]] = {}

    # -- request authentication -------------------------------------------
    def authenticate(
        self, headers: Mapping[str, str], cookies: Mapping[str, str], method: str
    ) -> Principal:
        header = headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            return Principal(self._basic(value.strip()), "basic")
        if self.regime == "jwt":
            token = value.strip() if scheme.lower() == "bearer" else cookies.get(JWT_COOKIE, "")
            if token:
                return Principal(self._bearer(token), "jwt", token)
        elif SESSION_COOKIE in cookies:
            return self._session(cookies[SESSION_COOKIE], headers, method)
        raise Unauthorized(SIGN_IN_REQUIRED)

    def _basic(self, encoded: str) -> User:
        try:
            user_name, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthorized(INVALID_LOGIN) from exc
        return self.check_password(user_name, password)

    def check_password(self, user_name: str, password: str) -> User:
        """Devise database authentication with lockable bookkeeping."""
        user = self.directory.get(user_name)
        if user is None or user.disabled:
            raise Unauthorized(INVALID_LOGIN)
        now = self.clock.epoch()
        with self._lock:
            state = self._locks.setdefault(user.user_name, _Lock())
            if state.locked_until > now:
                raise Unauthorized(ACCOUNT_LOCKED)
            if state.locked_until:
                state.failures, state.locked_until = 0, 0.0
            if not secrets.compare_digest(user.password, password):
                state.failures += 1
                if state.failures >= MAX_FAILED_ATTEMPTS:
                    state.locked_until = now + LOCK_S
                    raise Unauthorized(ACCOUNT_LOCKED)
                raise Unauthorized(INVALID_LOGIN)
            state.failures = 0
        return user

    def _bearer(self, token: str) -> User:
        claims = jwt_tokens.decode(token, self._secret)
        if claims is None:
            raise Unauthorized(SIGN_IN_REQUIRED)
        with self._lock:
            allowed_exp = self._jwts.get(str(claims.get("jti")))
        if allowed_exp is None:
            raise Unauthorized(SIGN_IN_REQUIRED)  # revoked or never issued
        if min(float(claims.get("exp", 0)), allowed_exp) <= self.clock.epoch():
            raise Unauthorized(JWT_EXPIRED)
        user = self.directory.get(str(claims.get("user_name", "")))
        if user is None:
            raise Unauthorized(SIGN_IN_REQUIRED)
        return user

    def _session(self, sid: str, headers: Mapping[str, str], method: str) -> Principal:
        now = self.clock.epoch()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                raise Unauthorized(SIGN_IN_REQUIRED)
            if session.expired or now - session.last_seen > SESSION_TIMEOUT_S:
                session.expired = True
                raise Unauthorized(SESSION_EXPIRED)
            session.last_seen = now
        if (
            self.csrf_protection
            and method.upper() not in SAFE_METHODS
            and not secrets.compare_digest(headers.get("x-csrf-token", ""), session.csrf)
        ):
            raise csrf_failed()
        user = self.directory.get(session.user_name)
        if user is None:
            raise Unauthorized(SIGN_IN_REQUIRED)
        return Principal(user, "session", sid)

    def csrf_for(self, sid: str) -> str | None:
        session = self._sessions.get(sid)
        return session.csrf if session else None

    # -- POST/DELETE /api/v2/tokens ---------------------------------------
    def throttle_login(self, user_name: str | None) -> None:
        """More than LOGIN_LIMIT logins per user_name in LOGIN_WINDOW_S: 429.

        rack-attack counts every request (good or bad password) in fixed
        windows; a sliding window is used here so tests are deterministic.
        """
        if not user_name:
            return
        key = user_name.strip().lower()
        now = self.clock.epoch()
        with self._lock:
            hits = self._logins.setdefault(key, deque())
            while hits and hits[0] <= now - LOGIN_WINDOW_S:
                hits.popleft()
            hits.append(now)
            if len(hits) > LOGIN_LIMIT:
                raise RateLimited

    def login(self, user: User) -> LoginResult:
        if self.regime == "jwt":
            token = self._issue_jwt(user)
            return LoginResult(
                {"id": user.id, "user_name": user.user_name, "token": token},
                headers={"Authorization": f"Bearer {token}"},
                cookies={JWT_COOKIE: token},
            )
        sid, csrf = secrets.token_hex(16), secrets.token_urlsafe(24)
        now = self.clock.epoch()
        with self._lock:
            for session in self._sessions.values():
                if session.user_name == user.user_name:
                    session.expired = True  # expire_other_user_sessions
            self._sessions[sid] = Session(user.user_name, csrf, now)
        return LoginResult(
            {"id": user.id, "user_name": user.user_name, "group_permission": user.group_permission},
            cookies={SESSION_COOKIE: sid, CSRF_COOKIE: csrf},
        )

    def refresh(self, principal: Principal) -> LoginResult:
        """JWT era: POST /api/v2/tokens with a valid bearer and no body issues a new token."""
        return self.login(principal.user)

    def logout(self, principal: Principal) -> None:
        with self._lock:
            if principal.via == "jwt" and principal.credential:
                claims = jwt_tokens.decode(principal.credential, self._secret) or {}
                self._jwts.pop(str(claims.get("jti")), None)
            elif principal.via == "session" and principal.credential:
                for session in self._sessions.values():
                    if session.user_name == principal.user.user_name:
                        session.expired = True

    def _issue_jwt(self, user: User) -> str:
        now = int(self.clock.epoch())
        jti = secrets.token_hex(16)
        claims = {
            "sub": str(user.id),
            "scp": "user",
            "aud": None,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_S,
            "jti": jti,
            "user_name": user.user_name,
        }
        with self._lock:
            self._jwts[jti] = float(now + TOKEN_LIFETIME_S)
        return jwt_tokens.encode(claims, self._secret)

    # -- control surface ---------------------------------------------------
    def expire_all(self) -> int:
        """Forced token expiry: every issued JWT and session stops working now."""
        now = self.clock.epoch()
        with self._lock:
            for jti in self._jwts:
                self._jwts[jti] = now
            for session in self._sessions.values():
                session.expired = True
            return len(self._jwts) + len(self._sessions)

    def expire_credential(self, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str:
        """Expire the token or session a request carries; returns the 401 message to send."""
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" or (self.regime == "jwt" and JWT_COOKIE in cookies):
            token = value.strip() if scheme.lower() == "bearer" else cookies[JWT_COOKIE]
            claims = jwt_tokens.decode(token, self._secret) or {}
            with self._lock:
                if str(claims.get("jti")) in self._jwts:
                    self._jwts[str(claims.get("jti"))] = self.clock.epoch()
            return JWT_EXPIRED
        sid = cookies.get(SESSION_COOKIE)
        if sid:
            with self._lock:
                if sid in self._sessions:
                    self._sessions[sid].expired = True
            return SESSION_EXPIRED
        return SIGN_IN_REQUIRED

    def reset(self) -> None:
        with self._lock:
            self._jwts.clear()
            self._sessions.clear()
            self._locks.clear()
            self._logins.clear()
