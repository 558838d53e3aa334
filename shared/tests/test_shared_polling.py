"""The fetchers' schedule: pass now, then every interval; a failing pass is not the end."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from prometheus_client import REGISTRY

from casebridge.control import ControlStoreUnavailable
from casebridge.memory import MemoryTransport
from casebridge.polling import Cron, EverySeconds, PollingService, interval_of, run_on_schedule
from casebridge.topology import build_topology


async def test_the_pass_runs_at_once_then_every_interval_until_stopped():
    stop = asyncio.Event()
    calls: list[float] = []

    async def fetch_pass() -> int:
        calls.append(time.monotonic())
        if len(calls) == 3:
            stop.set()
        return 5

    began = time.monotonic()
    await asyncio.wait_for(run_on_schedule(fetch_pass, EverySeconds(0.03), stop), 5)
    assert len(calls) == 3, "no pass after stop was set"
    assert calls[0] - began < 0.02, "the first pass runs at once"
    assert calls[1] - calls[0] >= 0.025
    assert calls[2] - calls[1] >= 0.025


async def test_a_failing_pass_is_retried_at_the_next_tick():
    stop = asyncio.Event()
    calls = 0

    async def flaky() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("primero is down")
        stop.set()
        return 1

    await asyncio.wait_for(run_on_schedule(flaky, EverySeconds(0.01), stop), 5)
    assert calls == 2


async def test_setting_the_stop_event_ends_the_wait_promptly():
    stop = asyncio.Event()
    calls = 0

    async def fetch_pass() -> int:
        nonlocal calls
        calls += 1
        return 0

    task = asyncio.create_task(run_on_schedule(fetch_pass, EverySeconds(60), stop))
    await asyncio.sleep(0.02)
    began = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 2)
    assert time.monotonic() - began < 0.5, "does not sit out the 60 s interval"
    assert calls == 1


async def test_a_stop_set_before_starting_runs_no_pass():
    stop = asyncio.Event()
    stop.set()
    calls = 0

    async def fetch_pass() -> int:
        nonlocal calls
        calls += 1
        return 0

    await run_on_schedule(fetch_pass, EverySeconds(60), stop)
    assert calls == 0


async def test_cancelling_the_poller_is_not_swallowed_as_a_failed_pass():
    stop = asyncio.Event()
    started = asyncio.Event()

    async def slow_pass() -> int:
        started.set()
        await asyncio.sleep(30)
        return 0

    task = asyncio.create_task(run_on_schedule(slow_pass, EverySeconds(0.01), stop))
    await started.wait()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)
    assert task in done
    assert task.cancelled()


async def test_a_polling_service_declares_polls_in_the_background_and_stops_cleanly():
    passes = 0
    third = asyncio.Event()

    async def fetch_pass() -> int:
        nonlocal passes
        passes += 1
        if passes == 3:
            third.set()
        return 2

    transport = MemoryTransport()
    topology = build_topology("p", targets=("sink",))
    service = PollingService(transport, topology, fetch_pass, EverySeconds(0.01))
    assert not service.ready()
    await service.start()
    assert service.ready()
    assert "p.transformer" in transport.broker.queues, "the topology is declared"
    await asyncio.wait_for(third.wait(), 3)
    await asyncio.wait_for(service.stop(), 2)
    assert not service.ready()
    stopped_at = passes
    await asyncio.sleep(0.03)
    assert passes == stopped_at, "no pass after stop"


async def test_a_single_pass_connects_runs_once_and_disconnects():
    async def fetch_pass() -> int:
        return 7

    transport = MemoryTransport()
    service = PollingService(transport, build_topology("p"), fetch_pass, EverySeconds(60))
    assert await service.run_once() == 7
    assert not transport.is_ready


async def test_a_transient_failure_is_retried_with_a_growing_backoff_not_the_interval():
    stop = asyncio.Event()
    calls: list[float] = []

    async def store_down_twice() -> int:
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise ControlStoreUnavailable("the control store is unreachable")
        stop.set()
        return 1

    task = run_on_schedule(store_down_twice, EverySeconds(60), stop, backoff_s=(0.05, 0.2))
    await asyncio.wait_for(task, 5)
    assert len(calls) == 3, "the pass is retried long before the 60 s interval"
    assert 0.04 <= calls[1] - calls[0] < 0.15
    assert 0.19 <= calls[2] - calls[1] < 0.4, "the second retry waits the next backoff step"


async def test_a_non_transient_failure_waits_for_the_schedule():
    stop = asyncio.Event()
    calls = 0

    async def broken() -> int:
        nonlocal calls
        calls += 1
        raise ValueError("a bug")

    task = asyncio.create_task(run_on_schedule(broken, EverySeconds(60), stop, backoff_s=(0.01,)))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert calls == 1


def test_the_interval_of_a_schedule_is_its_period_or_the_gap_between_cron_fires():
    now = datetime(2026, 11, 1, 8, 20, tzinfo=UTC)
    assert interval_of(EverySeconds(300), now) == 300
    assert interval_of(Cron("00 * * * *"), now) == 3600  # 09:00 then 10:00
    assert interval_of(Cron("*/15 * * * *"), now) == 900


async def test_a_starting_fetcher_publishes_its_interval_and_its_start_as_last_success():
    flow = f"flow-{time.monotonic_ns()}"

    async def fetch_pass() -> int:
        return 3

    service = PollingService(
        MemoryTransport(), build_topology("m"), fetch_pass, EverySeconds(120), flows=[flow]
    )
    before = time.time()
    await service.start()
    await service.stop()
    assert REGISTRY.get_sample_value("casebridge_fetch_interval_seconds") == 120
    started = REGISTRY.get_sample_value(
        "casebridge_fetch_last_success_timestamp_seconds", {"flow": flow}
    )
    assert started is not None
    assert before <= started <= time.time()
