"""The health endpoint: liveness, readiness following the service's check, Prometheus metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from casebridge.health import HealthServer
from casebridge.messages import Envelope
from casebridge.metrics import ConsumerMetrics
from casebridge.testing.builders import an_upsert_command

from .conftest import SINK, Bus, wait_for


@pytest.fixture
async def health(bus: Bus) -> AsyncIterator[Callable[[bool], tuple[str, dict[str, bool]]]]:
    """A server on a free port reading the bus's registry; the test flips readiness."""
    state = {"ready": False}
    server = HealthServer("127.0.0.1", 0, ready=lambda: state["ready"], registry=bus.registry)
    await server.start()
    assert server.port not in (None, 0), "port 0 picks a free port and reports it"

    def at(ready: bool) -> tuple[str, dict[str, bool]]:
        state["ready"] = ready
        return f"http://127.0.0.1:{server.port}", state

    yield at
    await server.stop()


async def test_healthz_answers_while_the_loop_runs(health):
    url, _ = health(False)
    async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_readyz_follows_the_ready_check(health):
    url, state = health(False)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/readyz") as response:
            assert response.status == 503
            assert await response.json() == {"ready": False}
        state["ready"] = True
        async with http.get(f"{url}/readyz") as response:
            assert response.status == 200
            assert await response.json() == {"ready": True}


async def test_metrics_show_the_consumer_s_outcomes(health, bus: Bus):
    url, _ = health(True)

    def ok(message: Envelope) -> None:
        return None

    consumer = bus.consumer(SINK, ok)
    await consumer.start()
    await bus.publisher.publish(an_upsert_command(target="sink"))
    await wait_for(lambda: bus.count("handled", SINK) == 1)
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    assert f'casebridge_messages_total{{outcome="handled",queue="{SINK}"}} 1.0' in text
    assert "casebridge_handler_seconds_bucket" in text


async def test_a_stopped_server_no_longer_answers(bus: Bus):
    server = HealthServer("127.0.0.1", 0, ready=lambda: True, registry=bus.registry)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/healthz"
    await server.stop()
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(url)


def test_each_registry_gets_its_own_metrics_even_at_a_reused_address():
    for _ in range(20):  # freed registries' addresses are reused at once by CPython
        registry = CollectorRegistry()
        metrics = ConsumerMetrics.for_registry(registry)
        assert ConsumerMetrics.for_registry(registry) is metrics
        metrics.count("q", "handled")
        sample = registry.get_sample_value(
            "casebridge_messages_total", {"queue": "q", "outcome": "handled"}
        )
        assert sample == 1.0
        del registry, metrics


def test_the_default_metrics_are_created_once():
    assert ConsumerMetrics.default() is ConsumerMetrics.default()
