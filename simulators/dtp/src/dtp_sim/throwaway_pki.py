"""A throw-away PKI for tests of the mTLS listener: two CAs, a server certificate, two clients.

``ca`` signs the server certificate (127.0.0.1 and localhost) and the ``client`` certificate the
gateway trusts; ``foreign_ca`` signs ``foreign_client``, which the gateway must refuse at the
TLS handshake. Needs the ``cryptography`` package (a dev dependency of the workspace), so the
simulator itself imports this module only when a test asks for it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class CertPair:
    """A PEM certificate and its unencrypted PEM private key."""

    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class ThrowawayPki:
    ca: Path
    server: CertPair
    client: CertPair
    foreign_ca: Path
    foreign_client: CertPair


@dataclass(frozen=True, slots=True)
class _Issuer:
    name: x509.Name
    key: ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> Any:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def _make_ca(directory: Path, stem: str) -> tuple[_Issuer, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"casebridge test {stem}")
    cert = (
        _builder(name, name, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{stem}.pem"
    _write_cert(cert, path)
    return _Issuer(name, key), path


def _issue(
    directory: Path, stem: str, issuer: _Issuer, *, server: bool, common_name: str
) -> CertPair:
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(_name(common_name), issuer.name, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    cert = builder.sign(issuer.key, hashes.SHA256())
    pair = CertPair(directory / f"{stem}.pem", directory / f"{stem}.key")
    _write_cert(cert, pair.cert)
    _write_key(key, pair.key)
    return pair


def make_throwaway_pki(directory: Path) -> ThrowawayPki:
    """Write the CAs, the server certificate and both client certificates under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_path = _make_ca(directory, "ca")
    foreign, foreign_path = _make_ca(directory, "foreign-ca")
    return ThrowawayPki(
        ca=ca_path,
        server=_issue(directory, "server", ca, server=True, common_name="dtp-sim"),
        client=_issue(directory, "client", ca, server=False, common_name="casebridge"),
        foreign_ca=foreign_path,
        foreign_client=_issue(
            directory, "foreign-client", foreign, server=False, common_name="casebridge"
        ),
    )
