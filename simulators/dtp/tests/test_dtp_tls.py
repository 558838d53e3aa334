"""The mutual-TLS listener: a client certificate from the configured CA passes the handshake
(and then only the endpoint's key is checked); a certificate from another CA, or none, is
refused at the handshake with the TLS alert, and nothing reaches the API."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dtp_sim.config import DtpConfig, TlsFiles
from dtp_sim.paths import DECISION_OUTGOING_REFERRAL
from dtp_sim.testing import RunningDtp, running_dtp
from dtp_sim.throwaway_pki import ThrowawayPki, make_throwaway_pki

RDOR = "ReceiveDecisionOutgoingReferral"
ACK = {"status": "Pending Acknowledgement", "progres_interventionnumber": "811-25-PRTITV-1"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_throwaway_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def dtp(pki: ThrowawayPki) -> Iterator[RunningDtp]:
    files = TlsFiles(str(pki.server.cert), str(pki.server.key), str(pki.ca))
    with running_dtp(DtpConfig(tls=files)) as running:
        yield running


def _post(dtp: RunningDtp, cert: tuple[Path, Path], headers: dict[str, str]) -> requests.Response:
    return requests.post(
        dtp.tls_base_url + "/" + RDOR,
        json=ACK,
        headers=headers,
        cert=(str(cert[0]), str(cert[1])),
        verify=str(_ca(dtp)),
        timeout=10,
    )


def _ca(dtp: RunningDtp) -> str:
    assert dtp.sim.config.tls is not None
    return dtp.sim.config.tls.client_ca  # the same CA signed the server certificate


def test_the_trusted_client_certificate_passes_with_the_endpoints_key(dtp, pki):
    key = {"Ocp-Apim-Subscription-Key": dtp.key_for(RDOR)}
    response = _post(dtp, (pki.client.cert, pki.client.key), key)  # no thumbprint header
    assert response.status_code == 200
    [row] = dtp.sim.received
    assert (row.endpoint, row.body) == (RDOR, ACK)
    # Over TLS the key is still checked, per endpoint.
    wrong = _post(dtp, (pki.client.cert, pki.client.key), {"Ocp-Apim-Subscription-Key": "x"})
    assert wrong.status_code == 401


def _handshake_and_send(dtp: RunningDtp, cert: tuple[Path, Path] | None) -> ssl.SSLError:
    """Connect with `cert`; the alert arrives at the handshake (TLS 1.2) or at the first read
    (TLS 1.3, where the client finishes its side first)."""
    context = ssl.create_default_context(cafile=_ca(dtp))
    if cert is not None:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    assert dtp.tls_url is not None
    port = int(dtp.tls_url.rsplit(":", 1)[1])
    request = (
        f"POST {DECISION_OUTGOING_REFERRAL} HTTP/1.1\r\nHost: x\r\n"
        f"Ocp-Apim-Subscription-Key: {dtp.key_for(RDOR)}\r\n"
        "Content-Length: 2\r\n\r\n{}"
    ).encode()

    def exchange() -> None:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(request)
            tls.recv(1024)

    with pytest.raises(ssl.SSLError) as caught:
        exchange()
    return caught.value


def test_a_client_certificate_of_another_ca_is_refused_at_the_handshake(dtp, pki):
    error = _handshake_and_send(dtp, (pki.foreign_client.cert, pki.foreign_client.key))
    assert error.reason == "TLSV1_ALERT_UNKNOWN_CA"
    assert dtp.sim.received == []
    assert dtp.sim.journal.entries() == []


def test_no_client_certificate_is_refused_at_the_handshake(dtp):
    error = _handshake_and_send(dtp, None)
    assert error.reason in {"TLSV13_ALERT_CERTIFICATE_REQUIRED", "SSLV3_ALERT_HANDSHAKE_FAILURE"}
    assert dtp.sim.received == []


def test_the_plain_listener_keeps_the_thumbprint_stand_in(dtp):
    key = {"Ocp-Apim-Subscription-Key": dtp.key_for(RDOR)}
    bare = requests.post(dtp.base_url + "/" + RDOR, json=ACK, headers=key, timeout=10)
    assert bare.status_code == 403
    stand_in = requests.post(
        dtp.base_url + "/" + RDOR, json=ACK, headers=dtp.auth_headers(RDOR), timeout=10
    )
    assert stand_in.status_code == 200
