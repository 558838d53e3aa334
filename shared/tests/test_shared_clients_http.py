"""The HTTP failure taxonomy and Retry-After parsing, without a server."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime

import aiohttp
import pytest

from casebridge.clients.http import (
    HttpClient,
    HttpResponse,
    HttpStatusError,
    TransientHttpError,
    certificate_refusal,
    classify,
    error_text,
    parse_retry_after,
)

NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("Mon, 23 Nov 2026 10:00:30 GMT", 30.0),
        ("Mon, 23 Nov 2026 09:00:00 GMT", 0.0),
        ("soon", None),
        (None, None),
        ("", None),
    ],
)
def test_retry_after_seconds_or_http_date(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_primero_error_envelope_is_compact() -> None:
    body = (
        b'{"errors":[{"status":422,"resource":"/api/v2/cases","detail":"date_of_birth",'
        b'"message":["errors.models.child.date_of_birth.not_future"]}]}'
    )
    assert error_text(body) == "errors.models.child.date_of_birth.not_future (date_of_birth)"


def test_html_is_stripped_and_long_text_truncated() -> None:
    assert error_text(b"<html><body><h1>Bad Gateway</h1></body></html>") == "Bad Gateway"
    assert len(error_text(b"x" * 5000)) == 300


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_429_and_5xx_are_transient(status: int) -> None:
    response = HttpResponse(status, {"Retry-After": "4"}, b"Retry later")
    with pytest.raises(TransientHttpError) as caught:
        classify("primero", "GET", "/api/v2/cases", response)
    assert caught.value.retry_after == 4
    assert caught.value.status == status


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_other_4xx_are_permanent(status: int) -> None:
    with pytest.raises(HttpStatusError) as caught:
        classify(
            "oscar", "POST", "/x", HttpResponse(status, {}, b'{"message":"Record was found."}')
        )
    assert "Record was found." in str(caught.value)


def test_success_passes() -> None:
    classify("oscar", "GET", "/x", HttpResponse(204, {}, b""))


def _ssl_error(reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] alert")
    error.reason = reason
    return error


def test_a_certificate_alert_is_a_refusal_wherever_aiohttp_wraps_it() -> None:
    wrapped = aiohttp.ClientOSError(1, "alert")  # TLS 1.3: the alert arrives at the first read
    wrapped.__cause__ = _ssl_error("TLSV1_ALERT_UNKNOWN_CA")
    assert certificate_refusal(wrapped) == (
        "the server refused our client certificate (TLSV1_ALERT_UNKNOWN_CA)"
    )
    assert certificate_refusal(_ssl_error("WRONG_VERSION_NUMBER")) is None


def test_resets_and_eofs_are_not_certificate_refusals() -> None:
    reset = aiohttp.ClientOSError(104, "reset")
    reset.__cause__ = ConnectionResetError()
    eof = aiohttp.ClientOSError(8, "eof")
    eof.__cause__ = ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    for error in (reset, eof, aiohttp.ServerDisconnectedError(), TimeoutError()):
        assert certificate_refusal(error) is None


@pytest.mark.parametrize(
    ("status", "taken"), [(429, False), (503, False), (500, True), (502, True), (504, True)]
)
def test_only_429_and_503_answers_prove_the_request_was_not_taken(status: int, taken: bool) -> None:
    with pytest.raises(TransientHttpError) as caught:
        classify("oscar", "POST", "/upsert", HttpResponse(status, {}, b""))
    assert caught.value.not_taken is not taken


async def test_no_connection_at_all_is_a_request_never_sent() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = HttpClient(f"http://127.0.0.1:{port}", system="oscar", connect_timeout_s=2)
    try:
        with pytest.raises(TransientHttpError) as caught:
            await client.request("POST", "/upsert", json={})
    finally:
        await client.close()
    assert caught.value.sent is False
    assert caught.value.not_taken
    assert caught.value.status is None


def test_a_timeout_or_a_lost_connection_may_have_been_taken() -> None:
    lost = TransientHttpError(
        "oscar POST /upsert failed: ServerDisconnectedError", status=None, retry_after=None
    )
    assert lost.sent
    assert not lost.not_taken


def test_field_names_of_a_refusal_are_kept() -> None:
    oscar = b'{"external_id": "c-1", "message": {"services": ["can\'t be blank"]}}'
    assert error_text(oscar) == "services: can't be blank"
    two = b'{"message": {"gender": ["can\'t be blank"], "level_of_risk": ["is not included"]}}'
    assert error_text(two) == "gender: can't be blank; level_of_risk: is not included"
    status = b'{"error": "Couldn\'t find Referral with \'id\'=1015", "message": "Record error."}'
    assert (
        error_text(status) == "error: Couldn't find Referral with 'id'=1015; message: Record error."
    )
