"""Settings mixins for the external APIs, shared by the fetchers and the loader's targets."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr

from casebridge.settings import CasebridgeSettings


class PrimeroApiSettings(CasebridgeSettings):
    """How to reach Primero v2 (`PRIMERO_*`; the password may come from `PRIMERO_PASSWORD_FILE`)."""

    primero_url: str = Field(default="http://127.0.0.1:8081", description="Base URL of Primero.")
    primero_user: str = Field(default="", description="Primero API user name.")
    primero_password: SecretStr = Field(
        default=SecretStr(""), description="Primero API password (or PRIMERO_PASSWORD_FILE)."
    )
    primero_auth: Literal["basic", "jwt"] = Field(
        default="basic",
        description="basic: HTTP Basic on every call (all versions); jwt: v2.10 token login.",
    )
    primero_timeout_s: float = Field(default=60.0, description="Longest wait for one response.")
    primero_connect_timeout_s: float = Field(default=10.0, description="Longest TCP connect.")
    # Defaults: the loader's share. fetcher-primero declares its own (12 / 30); together they
    # stay under the bundled nginx's 20 in flight / 50 r/s per client IP (shared README).
    primero_max_concurrent_requests: int = Field(
        default=6,
        ge=1,
        description="Requests in flight to the Primero host at most, for this process (also"
        " the keep-alive pool size).",
    )
    primero_max_requests_per_s: float = Field(
        default=15.0,
        ge=0,
        description="Requests per second to the Primero host on average, for this process"
        " (0 = unlimited).",
    )


class OscarApiSettings(CasebridgeSettings):
    """How to reach the OSCaR interop API (`OSCAR_*`; `OSCAR_PASSWORD_FILE` works too)."""

    oscar_url: str = Field(default="http://127.0.0.1:8082", description="Base URL of OSCaR.")
    oscar_user: str = Field(
        default="", description="OSCaR admin e-mail (must equal the external system's token)."
    )
    oscar_password: SecretStr = Field(
        default=SecretStr(""), description="OSCaR admin password (or OSCAR_PASSWORD_FILE)."
    )
    oscar_timeout_s: float = Field(
        default=120.0, description="Longest wait for one response (the client feed is unpaged)."
    )
    oscar_connect_timeout_s: float = Field(default=10.0, description="Longest TCP connect.")
    # None: the service's own default (fetcher-oscar 8; the OSCaR loader 32, never more than
    # its CONCURRENCY). OSCAR_MAX_CONNECTIONS, the earlier name, is still read.
    oscar_max_concurrent_requests: int | None = Field(
        default=None,
        ge=1,
        validation_alias=AliasChoices("oscar_max_concurrent_requests", "oscar_max_connections"),
        description="Requests in flight to the OSCaR host at most, for this process (also the"
        " keep-alive pool size); unset: the service's default.",
    )
    # OSCaR has no rate limiting (REAL-SYSTEMS.md): the default is casebridge's own courtesy.
    # None: the service's default (fetcher-oscar 0; the OSCaR loader 100, or its
    # TARGET_RATE_PER_S where that is set).
    oscar_max_requests_per_s: float | None = Field(
        default=None,
        ge=0,
        description="Requests per second to the OSCaR host on average, for this process"
        " (0 = unlimited); unset: the service's default.",
    )
