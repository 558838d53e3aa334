"""Run the simulator inside a test process: ``with running_primero() as sim: ...``.

Other suites import ``running_primero``; this package's own conftest wraps it in
a fixture. The handle exposes the base URL, Basic-auth credentials and the live
``SimState`` for direct assertions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from primero_sim.auth import Regime
from primero_sim.generate import Profile
from primero_sim.server import threaded_server
from primero_sim.state import SimConfig, SimState
from primero_sim.users import DEFAULT_PASSWORD


@dataclass
class RunningPrimero:
    base_url: str
    state: SimState
    host: str
    port: int
    user_name: str = "primero"
    password: str = DEFAULT_PASSWORD

    @property
    def auth(self) -> tuple[str, str]:
        """HTTP Basic credentials for ``requests``/``aiohttp``."""
        return (self.user_name, self.password)

    def url(self, path: str) -> str:
        return self.base_url + path


@contextmanager
def running_primero(
    *,
    cases: int = 0,
    seed: int = 42,
    samples: bool = False,
    profile: Profile = "mixed",
    auth_regime: Regime = "jwt",
    csrf_protection: bool = True,
    host: str = "127.0.0.1",
    port: int = 0,
    state: SimState | None = None,
    proxy_limits: bool = True,
) -> Iterator[RunningPrimero]:
    """Start uvicorn on a free loopback port in a thread; stop it on exit.

    ``proxy_limits`` (on, like a real deployment) applies the bundled nginx's per-IP limits;
    a given ``state`` keeps its own ``config.proxy_limits``.
    """
    if state is None:
        config = SimConfig(
            auth_regime=auth_regime,
            csrf_protection=csrf_protection,
            seed=seed,
            cases=cases,
            samples=samples,
            profile=profile,
            proxy_limits=proxy_limits,
        )
        state = SimState(config)
    server = threaded_server(state, host, port)
    server.start()
    try:
        yield RunningPrimero(server.base_url, state, server.host, server.port)
    finally:
        server.stop()
