"""Fixtures for tests against the real RabbitMQ: an isolated topology per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from casebridge.amqp import AmqpTransport
from casebridge.testing.amqp_probe import AmqpProbe
from casebridge.topology import Topology, build_topology

#: Short retry tiers so retry behaviour is observable within a test.
TEST_RETRY_DELAYS = (0.3, 0.6, 1.2)


@pytest.fixture
def topology(unique_prefix: str) -> Topology:
    """A full casebridge topology under a unique prefix, with one extra target `sink`."""
    return build_topology(
        unique_prefix,
        targets=("sink",),
        retry_delays=TEST_RETRY_DELAYS,
        delivery_limit=3,
    )


@pytest.fixture
def probe(rabbitmq_url: str, topology: Topology) -> Iterator[AmqpProbe]:
    """Inspects queues; deletes the test's topology afterwards."""
    probe = AmqpProbe(rabbitmq_url)
    yield probe
    probe.delete(topology)


@pytest.fixture
async def transport(
    rabbitmq_url: str, topology: Topology, probe: AmqpProbe
) -> AsyncIterator[AmqpTransport]:
    """A connected transport with the test topology declared."""
    t = AmqpTransport(rabbitmq_url, name="tests", publish_timeout_s=5, connect_timeout_s=5)
    await t.connect()
    await t.declare(topology)
    yield t
    await t.close()
