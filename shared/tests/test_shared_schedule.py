"""POLL_CRON / POLL_INTERVAL_S schedules and the scheduled pass loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from casebridge.polling import Cron, EverySeconds, PollingSettings, run_on_schedule, schedule_from


def test_cron_waits_until_the_next_fire_time_in_utc() -> None:
    now = datetime(2026, 11, 23, 10, 59, 30, tzinfo=UTC)
    assert Cron("0 * * * *").delay_s(now) == 30.0
    assert Cron("*/15 * * * *").delay_s(now) == 30.0
    assert Cron("0 2 * * *").delay_s(now) == 15 * 3600 + 30


def test_cron_wins_over_the_interval_and_bad_cron_fails_at_start() -> None:
    def settings(cron: str) -> PollingSettings:
        return PollingSettings(poll_cron=cron, poll_interval_s=60)

    assert schedule_from(settings("0 * * * *")) == Cron("0 * * * *")
    assert schedule_from(settings("")) == EverySeconds(60)
    with pytest.raises(ValueError, match="POLL_CRON"):
        schedule_from(settings("every hour"))


async def test_interval_runs_at_once_and_a_failed_pass_does_not_stop_the_loop() -> None:
    calls: list[int] = []
    stop = asyncio.Event()

    async def fetch_pass() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("primero down")
        if len(calls) == 3:
            stop.set()
        return 0

    await asyncio.wait_for(run_on_schedule(fetch_pass, EverySeconds(0.01), stop), 5)
    assert len(calls) == 3


async def test_cron_does_not_run_at_start() -> None:
    calls: list[int] = []
    stop = asyncio.Event()

    async def fetch_pass() -> int:
        calls.append(1)
        return 0

    task = asyncio.create_task(run_on_schedule(fetch_pass, Cron("0 0 1 1 *"), stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert calls == []
