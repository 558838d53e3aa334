"""A loader's health and metrics: alive but not ready while its breaker is not closed; the
breaker's state and the target's answer times on `/metrics`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from prometheus_client import REGISTRY

from casebridge.errors import TransientError
from casebridge.health import HealthServer
from casebridge.ids import new_id
from casebridge.messages import UpsertCommand
from casebridge.testing.builders import a_raw_record, an_upsert_command
from loader.breaker import BreakerState, CircuitBreaker
from loader.guarded import GuardedTarget
from loader.writer import Written

from .conftest import MemoryControlStore, running_loader, wait_for


class DownWriter:
    """A target that answers 503 while `down`, else writes."""

    once_per_key: frozenset[str] = frozenset()

    def __init__(self, name: str) -> None:
        self.name = name
        self.down = True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def write(self, command: UpsertCommand) -> Written:
        if self.down:
            raise TransientError("503 Service Unavailable")
        return Written(target_id="t-1")

    async def reconcile(self, command: UpsertCommand) -> Written | None:
        return None

    def left_nothing(self, command: UpsertCommand, error: BaseException) -> bool:
        return True


def a_command(target: str, n: int) -> UpsertCommand:
    raw = a_raw_record(record_id=f"case-{n}", updated_at=datetime(2026, 11, 1, 8, n, tzinfo=UTC))
    return an_upsert_command(
        raw, target=target, operation="update_links", key={"global_id": f"g{n}"}
    )


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def status(http: aiohttp.ClientSession, port: int | None, path: str) -> int:
    async with http.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_open_breaker_leaves_the_loader_alive_but_not_ready(
    store: MemoryControlStore, unique_prefix: str, http: aiohttp.ClientSession
) -> None:
    name = f"down-{new_id()[:8]}"
    writer = DownWriter(name)
    breaker = CircuitBreaker(name, failure_threshold=1, cooldown_s=0.3)
    target = GuardedTarget(writer, store, breaker)  # type: ignore[arg-type]
    async with running_loader(target, store, unique_prefix) as loader:
        server = HealthServer("127.0.0.1", 0, ready=loader.service.ready)
        await server.start()
        try:
            assert await status(http, server.port, "/readyz") == 200
            assert sample("casebridge_loader_breaker_state", target=name, state="closed") == 1

            await loader.send(a_command(name, 1))
            await wait_for(lambda: breaker.state is BreakerState.OPEN)
            assert await status(http, server.port, "/readyz") == 503
            assert await status(http, server.port, "/healthz") == 200
            async with http.get(f"http://127.0.0.1:{server.port}/metrics") as response:
                text = await response.text()
            assert f'casebridge_loader_breaker_state{{state="open",target="{name}"}} 1.0' in text
            assert sample("casebridge_loader_breaker_state", target=name, state="closed") == 0
            assert (
                sample(
                    "casebridge_loader_target_seconds_count",
                    target=name,
                    operation="update_links",
                    outcome="transient",
                )
                == 1
            )

            writer.down = False  # the parked message comes back after the cooldown: a probe
            await wait_for(lambda: breaker.state is BreakerState.CLOSED, timeout_s=10)
            assert await status(http, server.port, "/readyz") == 200
            await wait_for(lambda: loader.count("handled") == 1, timeout_s=10)
            assert (
                sample(
                    "casebridge_loader_target_seconds_count",
                    target=name,
                    operation="update_links",
                    outcome="ok",
                )
                == 1
            )
        finally:
            await server.stop()
