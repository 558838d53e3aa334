"""Run the DTP simulator in-process for tests: ``with running_dtp() as dtp: ...``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from dtp_sim.app import create_app
from dtp_sim.config import DtpConfig
from dtp_sim.state import DtpSim
from simkit.serving import serve_in_thread


@dataclass(frozen=True, slots=True)
class RunningDtp:
    """``url`` is the server root; ``base_url`` adds the APIM base path."""

    url: str
    sim: DtpSim

    @property
    def base_url(self) -> str:
        return self.url + self.sim.config.base_path.rstrip("/")

    def auth_headers(self) -> dict[str, str]:
        """The subscription key and certificate thumbprint a valid caller presents."""
        config = self.sim.config
        return {
            "Ocp-Apim-Subscription-Key": config.subscription_key,
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
    """Start uvicorn on a free loopback port in a thread; stop it on exit.

    ``samples`` fills the push outbox with the reference referral and decision webhooks.
    """
    sim = DtpSim(config or DtpConfig())
    if samples:
        sim.seed_samples()
    with serve_in_thread(create_app(sim), sim.connections, host, port) as url:
        yield RunningDtp(url, sim)
