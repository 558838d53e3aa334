"""One simulator per test session; every test gets it reset and seeded with the samples."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from primero_sim.testing import RunningPrimero, running_primero


@pytest.fixture(scope="session")
def primero_server() -> Iterator[RunningPrimero]:
    with running_primero() as sim:
        yield sim


@pytest.fixture
def primero(primero_server: RunningPrimero) -> RunningPrimero:
    primero_server.state.reset()
    primero_server.state.seed_samples()
    return primero_server


@pytest.fixture
def client(primero: RunningPrimero) -> Iterator[requests.Session]:
    """A keep-alive session authenticated with HTTP Basic."""
    with requests.Session() as session:
        session.auth = primero.auth
        yield session
