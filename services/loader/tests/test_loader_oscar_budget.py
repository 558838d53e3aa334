"""The OSCaR target's request budget and keep-alive pool follow CONCURRENCY and its settings.

At L seconds per OSCaR request the loader writes at most min(in flight / L, rate) per second, so
the pool must not be a fixed 8 (issue 12: 33 writes/s at +200 ms with CONCURRENCY=128).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from casebridge.clients.budget import BudgetLimits, budget_for
from casebridge.testing.memory_control_store import MemoryControlStore
from loader.guarded import GuardedTarget
from loader.target import find_target
from loader.targets.oscar import OscarSettings, OscarWriter, build, oscar_budget
from oscar_sim.testing import RunningOscar, running_oscar

ENV = (
    "CONCURRENCY",
    "OSCAR_MAX_CONCURRENT_REQUESTS",
    "OSCAR_MAX_CONNECTIONS",
    "OSCAR_MAX_REQUESTS_PER_S",
    "TARGET_RATE_PER_S",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def budget_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> BudgetLimits:
    """The budget of the target the entry point builds from this environment."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    target = find_target("oscar")(MemoryControlStore())
    assert isinstance(target, GuardedTarget)
    assert isinstance(target.writer, OscarWriter)
    return target.writer.client.limits


def test_by_default_32_in_flight_and_100_per_s(monkeypatch: pytest.MonkeyPatch) -> None:
    assert budget_with(monkeypatch) == BudgetLimits(32, 100.0)


@pytest.mark.parametrize(
    ("concurrency", "max_concurrent", "expected"),
    [("10", None, 10), ("128", "64", 64), ("16", "64", 16), ("300", "200", 200)],
)
def test_in_flight_is_concurrency_capped_by_the_oscar_setting(
    monkeypatch: pytest.MonkeyPatch, concurrency: str, max_concurrent: str | None, expected: int
) -> None:
    env = {"CONCURRENCY": concurrency}
    if max_concurrent is not None:
        env["OSCAR_MAX_CONCURRENT_REQUESTS"] = max_concurrent
    assert budget_with(monkeypatch, **env).concurrency == expected


def test_the_earlier_setting_name_is_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    assert budget_with(monkeypatch, OSCAR_MAX_CONNECTIONS="4").concurrency == 4
    assert (
        budget_with(monkeypatch, OSCAR_MAX_CONCURRENT_REQUESTS="6", OSCAR_MAX_CONNECTIONS="4")
    ).concurrency == 6


def test_the_rate_is_the_oscar_setting_else_a_target_rate_that_was_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert budget_with(monkeypatch, TARGET_RATE_PER_S="5").rate_per_s == 5.0
    assert budget_with(monkeypatch, TARGET_RATE_PER_S="0").rate_per_s == 0.0
    assert budget_with(monkeypatch, OSCAR_MAX_REQUESTS_PER_S="250").rate_per_s == 250.0
    both = budget_with(monkeypatch, OSCAR_MAX_REQUESTS_PER_S="0", TARGET_RATE_PER_S="5")
    assert both.rate_per_s == 0.0


def test_settings_given_in_code_follow_the_same_rule() -> None:
    settings = OscarSettings(concurrency=12, oscar_max_requests_per_s=0)
    assert oscar_budget(settings) == BudgetLimits(12, 0.0)


@pytest.fixture(scope="module")
def oscar_server() -> Iterator[RunningOscar]:
    with running_oscar() as sim:
        yield sim


async def test_the_pool_and_the_host_budget_have_the_same_size(oscar_server: RunningOscar) -> None:
    """Every request holds a slot of the host's budget and finds a pooled connection."""
    settings = OscarSettings(
        oscar_url=oscar_server.url,
        oscar_user=oscar_server.email,
        oscar_password=SecretStr(oscar_server.password),
        concurrency=48,
        oscar_max_concurrent_requests=40,
    )
    target = build(MemoryControlStore(), settings)
    assert isinstance(target, GuardedTarget)
    assert isinstance(target.writer, OscarWriter)
    client = target.writer.client
    try:
        await client.list_clients()  # opens the session and the host's budget
        pool = client._http._session.connector  # type: ignore[union-attr]
        assert pool is not None
        assert pool.limit == 40
        host = budget_for(oscar_server.url, BudgetLimits(1, 1.0))  # the existing one, unwidened
        assert host.limits == BudgetLimits(40, 100.0)
    finally:
        await client.close()
