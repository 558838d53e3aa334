"""When passes run: every N seconds, or at the fire times of a cron expression (UTC).

Operators know cron from the old OpenFn set-up (`00 * * * *`, MAPPINGS A.0); a cron schedule
also lets passes of several fetchers line up (C0 before C1 before C2) without a scheduler.
croniter computes the next fire time; nothing else in the stack parses cron.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import structlog
from croniter import croniter

from casebridge.polling import PollingService

log = structlog.get_logger(__name__)


class Schedule(Protocol):
    """How long to wait before the next pass."""

    @property
    def run_at_start(self) -> bool:
        """Whether the first pass runs at once."""

    def delay_s(self, now: datetime) -> float:
        """Seconds from `now` to the next pass."""


@dataclass(frozen=True)
class EverySeconds:
    """A pass at start, then one every `interval_s` after the previous pass ended."""

    interval_s: float
    run_at_start: bool = True

    def delay_s(self, now: datetime) -> float:
        return self.interval_s


@dataclass(frozen=True)
class Cron:
    """A pass at each fire time of a cron expression, in UTC; none at start."""

    expression: str
    run_at_start: bool = False

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.expression):
            raise ValueError(f"POLL_CRON is not a valid cron expression: {self.expression!r}")

    def delay_s(self, now: datetime) -> float:
        upcoming: datetime = croniter(self.expression, now.astimezone(UTC)).get_next(datetime)
        return max(0.0, (upcoming - now).total_seconds())


def schedule_from(poll_cron: str, poll_interval_s: float) -> Schedule:
    """The cron schedule when one is configured, else the interval."""
    return Cron(poll_cron.strip()) if poll_cron.strip() else EverySeconds(poll_interval_s)


async def run_on_schedule(
    fetch_pass: Callable[[], Awaitable[int]],
    schedule: Schedule,
    stop: asyncio.Event,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Run passes on the schedule until `stop`; a failed pass is logged and retried next time
    (cursors only advance after confirmed publishes, so a retry never skips records)."""
    first = True
    while not stop.is_set():
        if not (first and schedule.run_at_start):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), schedule.delay_s(clock()))
            if stop.is_set():
                return
        first = False
        try:
            published = await fetch_pass()
            log.info("fetch_pass_done", published=published)
        except Exception as exc:
            log.error("fetch_pass_failed", error_class=type(exc).__name__, reason=str(exc)[:300])


@dataclass
class ScheduledPollingService(PollingService):
    """PollingService on a `Schedule`, closing the fetcher's own resources when it stops."""

    schedule: Schedule = field(default_factory=lambda: EverySeconds(300.0))
    close_resources: Callable[[], Awaitable[None]] | None = None

    async def start(self) -> None:
        """Connect and start the scheduled passes in the background."""
        await self.connect()
        self._loop_task = asyncio.get_running_loop().create_task(
            run_on_schedule(self.fetch_pass, self.schedule, self.stopping)
        )

    async def stop(self) -> None:
        """Let the current pass finish, disconnect, release the client and the store."""
        try:
            await super().stop()
        finally:
            if self.close_resources is not None:
                await self.close_resources()

    async def run_once(self) -> int:
        """One pass, then release everything."""
        try:
            return await super().run_once()
        finally:
            if self.close_resources is not None:
                await self.close_resources()
