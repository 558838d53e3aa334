"""Run the simulator in-process for tests: ``with running_oscar() as oscar: ...``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from oscar_sim.app import create_app
from oscar_sim.config import OscarConfig
from oscar_sim.state import OscarSim
from simkit.serving import serve_in_thread


@dataclass(frozen=True, slots=True)
class RunningOscar:
    """``url`` is the base URL (no trailing slash); ``sim`` is the live state handle."""

    url: str
    sim: OscarSim

    @property
    def email(self) -> str:
        return self.sim.config.email

    @property
    def password(self) -> str:
        return self.sim.config.password


@contextlib.contextmanager
def running_oscar(
    config: OscarConfig | None = None,
    *,
    samples: bool = False,
    count: int = 0,
    seed: int = 0,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[RunningOscar]:
    """Start uvicorn on a free loopback port in a thread; stop it on exit.

    ``samples`` seeds the reference feed items; ``count`` > 0 adds generated clients.
    The state handle is shared with the server thread: mutate it only between requests.
    """
    sim = OscarSim(config)
    if samples:
        sim.seed_samples()
    if count:
        sim.seed_generated(count, seed)
    with serve_in_thread(create_app(sim), sim.connections, host, port) as url:
        yield RunningOscar(url, sim)
