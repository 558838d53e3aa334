"""The Docker path of the pytest plugin: where an engine answers, the testcontainers it starts
are a RabbitMQ and a PostgreSQL that really answer (skipped, with the reason, without Docker)."""

from __future__ import annotations

import importlib.util
import socket
from contextlib import closing

import pytest

from casebridge.testing.pytest_plugin import start_container


def _docker_answers() -> bool:
    import docker  # installed with testcontainers (a dev dependency)

    try:
        return bool(docker.from_env().ping())
    except Exception:  # no engine or no socket: the skip says so
        return False


def test_testcontainers_is_installed_by_make_sync() -> None:
    # The README's claim: the package is a dev dependency, not something to install by hand.
    for module in ("testcontainers.community.rabbitmq", "testcontainers.community.postgres"):
        assert importlib.util.find_spec(module) is not None, f"{module} missing after make sync"


@pytest.mark.integration
@pytest.mark.parametrize(("kind", "port"), [("rabbitmq", 5672), ("postgres", 5432)])
def test_a_started_container_answers(kind: str, port: int) -> None:
    if not _docker_answers():
        pytest.skip("no Docker engine answers: the plugin uses RABBITMQ_URL / DATABASE_URL")
    container = start_container(kind)
    assert container is not None, f"Docker answers but the {kind} testcontainer did not start"
    try:
        host = container.get_container_host_ip()
        mapped = int(container.get_exposed_port(port))
        with closing(socket.create_connection((host, mapped), timeout=10)):
            pass
    finally:
        container.stop()
