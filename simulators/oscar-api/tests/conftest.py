"""Fixtures: a fresh OSCaR simulator per test, and a signed-in session against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from oscar_sim.paths import SIGN_IN
from oscar_sim.testing import RunningOscar, running_oscar


@pytest.fixture
def oscar() -> Iterator[RunningOscar]:
    with running_oscar() as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def sign_in(oscar: RunningOscar, http: requests.Session) -> Callable[[], dict[str, str]]:
    """Signs in again on each call; returns the three headers later requests carry."""

    def signer() -> dict[str, str]:
        response = http.post(
            oscar.url + SIGN_IN, json={"email": oscar.email, "password": oscar.password}
        )
        assert response.status_code == 200, response.text
        return {name: response.headers[name] for name in ("access-token", "client", "uid")}

    return signer


@pytest.fixture
def auth(sign_in: Callable[[], dict[str, str]]) -> dict[str, str]:
    return sign_in()
