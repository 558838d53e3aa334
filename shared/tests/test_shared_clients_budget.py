"""The per-host request budget, the in-place read retry, and the proxy's 503 page as transient."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from casebridge.clients import HttpClient, HttpStatusError, PrimeroClient, TransientHttpError
from casebridge.clients.budget import BudgetLimits, HostBudget, budget_for, host_of
from casebridge.clients.http import HttpResponse, classify
from casebridge.clients.retry import ReadRetry
from casebridge.errors import TransientError
from primero_sim.testing import RunningPrimero, running_primero

NGINX_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n"
    b"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class SlowServer:
    """Answers after `hold_s`, counting requests in flight."""

    def __init__(self, hold_s: float = 0.05) -> None:
        self.hold_s = hold_s
        self.in_flight = 0
        self.peak = 0
        self.served = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.hold_s)
        finally:
            self.in_flight -= 1
        self.served += 1
        return web.json_response({"ok": True})


@pytest.fixture
async def slow() -> AsyncIterator[tuple[SlowServer, str]]:
    server = SlowServer()
    app = web.Application()
    app.router.add_get("/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield server, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_clients_of_one_host_share_one_budget_of_requests_in_flight(slow) -> None:
    server, url = slow
    first = HttpClient(url, system="t", concurrency=3)
    second = HttpClient(url + "/", system="t", concurrency=3)
    try:
        await asyncio.gather(
            *(c.request("GET", f"/{n}") for n in range(10) for c in (first, second))
        )
    finally:
        await first.close()
        await second.close()
    assert server.served == 20
    assert server.peak == 3  # 3 for both clients together, not 3 each
    assert budget_for(url, BudgetLimits(3)).peak == 3


async def test_the_pool_follows_the_concurrency(slow) -> None:
    _, url = slow
    client = HttpClient(url, system="t", concurrency=5)
    try:
        await client.request("GET", "/")
        session, _ = client._session_now()
        assert session.connector is not None
        assert session.connector.limit == 5
    finally:
        await client.close()


async def test_the_rate_spaces_requests_after_a_burst_of_the_concurrency() -> None:
    budget = HostBudget("http://rate.invalid:1", BudgetLimits(4, 20.0), time.monotonic)
    passed: list[float] = []

    async def one() -> None:
        async with budget.slot():
            passed.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(14)))
    offsets = sorted(t - started for t in passed)
    assert offsets[3] < 0.05  # the burst (the concurrency) passes at once
    assert offsets[-1] >= 10 / 20 * 0.9  # then 20 per second
    assert budget.peak <= 4


def test_hosts_are_told_apart_by_scheme_host_and_port() -> None:
    assert host_of("http://Primero.example/api") == "http://primero.example:80"
    assert host_of("https://primero.example") == "https://primero.example:443"
    assert host_of("http://127.0.0.1:8081/") != host_of("http://127.0.0.1:8082/")


async def test_a_second_budget_for_a_host_widens_it_to_the_largest_figures() -> None:
    budget = budget_for("http://widen.invalid", BudgetLimits(6, 15.0))
    assert budget_for("http://widen.invalid/x", BudgetLimits(12, 30.0)) is budget
    assert budget.limits == BudgetLimits(12, 30.0)
    budget_for("http://widen.invalid", BudgetLimits(2, 5.0))
    assert budget.limits == BudgetLimits(12, 30.0)
    assert budget_for("http://other.invalid", BudgetLimits(2, 5.0)).limits == BudgetLimits(2, 5.0)


def test_the_proxy_503_page_without_retry_after_is_transient() -> None:
    response = HttpResponse(503, {"Content-Type": "text/html"}, NGINX_503)
    with pytest.raises(TransientHttpError) as caught:
        classify("primero", "GET", "/api/v2/cases", response)
    assert caught.value.status == 503
    assert caught.value.retry_after is None
    assert "503 Service Temporarily Unavailable" in str(caught.value)
    with pytest.raises(HttpStatusError):
        classify("primero", "GET", "/api/v2/cases", HttpResponse(404, {}, b"<html></html>"))


async def test_a_read_is_retried_in_place_with_backoff_then_given_up() -> None:
    calls: list[float] = []

    async def flaky() -> str:
        calls.append(time.perf_counter())
        if len(calls) < 3:
            raise TransientError("503")
        return "page"

    retry = ReadRetry(attempts=3, base_s=0.05, max_s=1.0)
    assert await retry.run(flaky, what="GET /x") == "page"
    assert len(calls) == 3
    assert calls[2] - calls[1] >= 0.05  # the second pause is at least half of 2 x 0.05
    calls.clear()
    with pytest.raises(TransientError):
        await ReadRetry(attempts=2, base_s=0.01).run(flaky, what="GET /x")
    assert len(calls) == 2


def test_retry_after_wins_over_the_backoff_and_the_backoff_is_capped() -> None:
    retry = ReadRetry(attempts=9, base_s=1.0, max_s=8.0)
    assert retry.pause_s(1, 2.5) == 2.5
    assert retry.pause_s(1, 120) == 8.0
    assert all(4.0 <= retry.pause_s(10, None) <= 8.0 for _ in range(50))


async def test_permanent_failures_are_not_retried() -> None:
    calls = 0

    async def refused() -> Any:
        nonlocal calls
        calls += 1
        raise HttpStatusError("422", status=422, text="")

    with pytest.raises(HttpStatusError):
        await ReadRetry(attempts=5, base_s=0.01).run(refused, what="GET /x")
    assert calls == 1


@pytest.fixture(scope="module")
def limited_primero() -> Iterator[RunningPrimero]:
    with running_primero(samples=True) as sim:  # the proxy limits are on
        yield sim


def _client(sim: RunningPrimero, concurrency: int, rate: float) -> PrimeroClient:
    return PrimeroClient(
        sim.base_url,
        user=sim.user_name,
        password=SecretStr(sim.password),
        concurrency=concurrency,
        rate_per_s=rate,
    )


async def _burst(sim: RunningPrimero, client: PrimeroClient, reads: int) -> int:
    sim.state.reset()
    sim.state.seed_samples()
    sim.state.faults.add({"kind": "latency", "path": "/api/v2/cases/*", "latency_ms": 100})
    case_id = next(iter(sim.state.store.all_ids()))
    results = await asyncio.gather(
        *(client.list_referrals(case_id) for _ in range(reads)), return_exceptions=True
    )
    await client.close()
    failed = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, TransientHttpError) and r.status == 503 for r in failed)
    assert len(failed) == sim.state.limits.stats.refused
    return len(failed)


async def test_the_default_shares_get_no_503_from_primero_proxy_limits(limited_primero) -> None:
    # fetcher-primero's and loader-primero's default shares, in one process (one IP).
    fetcher = _client(limited_primero, 12, 30.0)
    assert await _burst(limited_primero, fetcher, 60) == 0
    assert limited_primero.state.limits.stats.max_in_flight <= 12


async def test_without_a_budget_the_same_burst_meets_the_503_page(limited_primero) -> None:
    greedy = _client(limited_primero, 40, 0.0)
    assert await _burst(limited_primero, greedy, 60) > 0
