"""Run the DTP simulator in-process for tests: ``with running_dtp() as dtp: ...``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from dtp_sim.app import create_app
from dtp_sim.config import DtpConfig
from dtp_sim.state import DtpSim
from dtp_sim.tls_front import TlsFront
from simkit.serving import serve_in_thread


@dataclass(frozen=True, slots=True)
class RunningDtp:
    """``url`` is the plain listener's root, ``tls_url`` the mTLS listener's (when configured);
    ``base_url`` / ``tls_base_url`` add the APIM base path."""

    url: str
    sim: DtpSim
    tls_url: str | None = None

    @property
    def base_url(self) -> str:
        return self.url + self.sim.config.base_path.rstrip("/")

    @property
    def tls_base_url(self) -> str:
        if self.tls_url is None:
            raise RuntimeError("this DTP simulator has no TLS listener (DtpConfig.tls)")
        return self.tls_url + self.sim.config.base_path.rstrip("/")

    def key_for(self, endpoint: str) -> str:
        """The subscription key of ``endpoint`` (e.g. ``ReceiveIncomingReferral``)."""
        return self.sim.config.subscription_keys[endpoint]

    def auth_headers(self, endpoint: str) -> dict[str, str]:
        """The endpoint's subscription key and the certificate thumbprint (plain listener)."""
        config = self.sim.config
        return {
            "Ocp-Apim-Subscription-Key": self.key_for(endpoint),
            config.cert_header: config.client_cert_thumbprint,
        }


@contextlib.contextmanager
def running_dtp(
    config: DtpConfig | None = None,
    *,
    samples: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[RunningDtp]:
    """Start uvicorn on a free loopback port in a thread, and the mTLS listener beside it when
    ``config.tls`` is set; stop both on exit.

    ``samples`` fills the push outbox with the reference referral and decision webhooks.
    """
    sim = DtpSim(config or DtpConfig())
    if samples:
        sim.seed_samples()
    with serve_in_thread(create_app(sim), sim.connections, host, port) as url:
        if sim.config.tls is None:
            yield RunningDtp(url, sim)
            return
        plain = urlsplit(url)
        upstream = (plain.hostname or host, plain.port or port)
        front = TlsFront(sim.config.tls, upstream, sim.tls_peers, host)
        front.start()
        try:
            yield RunningDtp(url, sim, front.url)
        finally:
            front.stop()
