"""pytest plugin (auto-loaded): where the real broker and database come from.

Order: an explicit URL in the environment (`RABBITMQ_URL`, `DATABASE_URL`), else a
testcontainer where a Docker engine answers, else skip — except under `CI=true`, where a missing
service fails the test, so a CI run can never pass by skipping everything.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import closing
from typing import Any
from urllib.parse import urlparse

import pytest

from casebridge.ids import new_id
from casebridge.settings import env_flag
from casebridge.testing.private_postgres import PrivatePostgres, private_postgres
from casebridge.testing.private_rabbitmq import PrivateRabbitMQ, private_rabbitmq


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with closing(socket.create_connection((host, port), timeout=2)):
            return True
    except OSError:
        return False


def _unavailable(what: str) -> None:
    message = f"{what} is not available: set its URL, or run a Docker engine for testcontainers"
    if env_flag("CI"):
        pytest.fail(f"{message} (CI=true: not skipping)")
    pytest.skip(message)


def start_container(kind: str) -> Any:
    """A started testcontainer of `kind` ("rabbitmq" or "postgres"), or None when the
    testcontainers package (a dev dependency) cannot reach a Docker engine."""
    try:
        if kind == "rabbitmq":
            from testcontainers.community.rabbitmq import RabbitMqContainer

            return RabbitMqContainer("rabbitmq:3.13-management").start()
        from testcontainers.community.postgres import PostgresContainer

        return PostgresContainer("postgres:16").start()
    except Exception:  # no package, no engine: the caller decides skip or fail
        return None


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """AMQP URL of a real RabbitMQ."""
    url = os.environ.get("RABBITMQ_URL")
    if url:
        if not _reachable(url, 5672):
            _unavailable(f"RabbitMQ at RABBITMQ_URL ({urlparse(url).hostname})")
        yield url
        return
    container = start_container("rabbitmq")
    if container is None:
        _unavailable("RabbitMQ")
    try:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(5672)
        yield f"amqp://guest:guest@{host}:{port}/%2F"
    finally:
        container.stop()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """PostgreSQL URL (postgresql://…) of a real database."""
    url = os.environ.get("DATABASE_URL")
    if url:
        if not _reachable(url, 5432):
            _unavailable(f"PostgreSQL at DATABASE_URL ({urlparse(url).hostname})")
        yield url
        return
    container = start_container("postgres")
    if container is None:
        _unavailable("PostgreSQL")
    try:
        yield container.get_connection_url().replace("+psycopg2", "")
    finally:
        container.stop()


@pytest.fixture
def unique_prefix() -> str:
    """A name prefix no other test uses, so tests on one broker never see each other's queues."""
    return f"t{new_id()[:8]}"


@pytest.fixture
def own_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of the test's own on a free port, for tests that stop or restart it
    (never the shared one: other tests are using it)."""
    try:
        with private_postgres() as cluster:
            yield cluster
    except LookupError as exc:
        _unavailable(f"a private PostgreSQL cluster ({exc})")


@pytest.fixture
def own_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    """A RabbitMQ node of the test's own on free ports, for tests that stop, kill or restart the
    broker (never the shared one: other tests are using it)."""
    try:
        with private_rabbitmq() as node:
            yield node
    except LookupError as exc:
        _unavailable(f"a private RabbitMQ node ({exc})")
