"""HTTP clients of the external systems, shared by fetchers and loaders (one session each)."""

from casebridge.clients.http import (
    AuthenticationFailed,
    HttpClient,
    HttpResponse,
    HttpStatusError,
    TlsRefused,
    TransientHttpError,
    parse_retry_after,
)
from casebridge.clients.oscar import OscarClient
from casebridge.clients.primero import CasePage, PrimeroClient
from casebridge.clients.primero_filters import FilterIgnored
from casebridge.clients.settings import OscarApiSettings, PrimeroApiSettings

__all__ = [
    "AuthenticationFailed",
    "CasePage",
    "FilterIgnored",
    "HttpClient",
    "HttpResponse",
    "HttpStatusError",
    "OscarApiSettings",
    "OscarClient",
    "PrimeroApiSettings",
    "PrimeroClient",
    "TlsRefused",
    "TransientHttpError",
    "parse_retry_after",
]
