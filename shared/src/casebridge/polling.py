"""The fetchers' runtime: fetch passes on a schedule (an interval or a cron expression).

Operators know cron from the old OpenFn set-up (`00 * * * *`, MAPPINGS A.0); a cron schedule also
lets passes of several fetchers line up (C0 before C1 before C2) without a scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog
from croniter import croniter
from pydantic import Field

from casebridge.errors import ConfigurationProblem, TransientError
from casebridge.fetch_metrics import FetchMetrics
from casebridge.settings import CasebridgeSettings
from casebridge.topology import Topology
from casebridge.transport import Transport

log = structlog.get_logger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PollingSettings(CasebridgeSettings):
    """When a fetcher runs its passes."""

    poll_interval_s: float = Field(default=300.0, description="Seconds between fetch passes.")
    poll_cron: str = Field(
        default="", description="Cron expression (UTC) for passes; wins over POLL_INTERVAL_S."
    )


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
        """The interval, whatever the time."""
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
        """Seconds until the next fire time."""
        upcoming: datetime = croniter(self.expression, now.astimezone(UTC)).get_next(datetime)
        return max(0.0, (upcoming - now).total_seconds())


def interval_of(schedule: Schedule, now: datetime) -> float:
    """Seconds between two passes of `schedule` from `now` (a cron: between its next two fires)."""
    if isinstance(schedule, EverySeconds):
        return schedule.interval_s
    first = schedule.delay_s(now)
    later = now + timedelta(seconds=first + 1)
    return schedule.delay_s(later) + 1


def schedule_from(settings: PollingSettings) -> Schedule:
    """The cron schedule when one is configured, else the interval."""
    cron = settings.poll_cron.strip()
    return Cron(cron) if cron else EverySeconds(settings.poll_interval_s)


#: Seconds before a pass that failed on a transient error (control store or source down) is
#: tried again: doubling from the first to the last, never later than the schedule's own pass.
RETRY_BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


async def run_on_schedule(
    fetch_pass: Callable[[], Awaitable[int]],
    schedule: Schedule,
    stop: asyncio.Event,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    backoff_s: tuple[float, ...] = RETRY_BACKOFF_S,
) -> None:
    """Run passes on the schedule until `stop` is set.

    A failed pass is logged and retried: cursors only advance after confirmed publishes, so a
    retry never skips records nor re-publishes a confirmed page. A transient failure (the
    control store or the source unreachable) is retried soon, with a growing backoff, instead of
    waiting for the next scheduled pass; any other failure waits for the schedule.
    """
    first = True
    failures = 0
    while not stop.is_set():
        if not (first and schedule.run_at_start):
            delay = schedule.delay_s(clock())
            if failures:
                delay = min(delay, backoff_s[min(failures, len(backoff_s)) - 1])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return
        first = False
        try:
            published = await fetch_pass()
            log.info("fetch_pass_done", published=published)
            failures = 0
        except TransientError as exc:
            failures += 1
            log.warning(
                "fetch_pass_failed",
                error_class=type(exc).__name__,
                reason=str(exc)[:300],
                transient=True,
                retry_in_s=backoff_s[min(failures, len(backoff_s)) - 1],
            )
        except ConfigurationProblem as exc:
            failures = 0
            # Logged at error level where it was first reported; each later pass is a reminder.
            log.info("fetch_pass_failed_configuration", first_report=exc.first_report)
        except Exception as exc:
            failures = 0
            log.error("fetch_pass_failed", error_class=type(exc).__name__, reason=str(exc)[:300])


@dataclass
class PollingService:
    """A fetcher as `run_service` drives it: connect and declare, then passes on a schedule.

    `fetch_pass` is the fetcher's own work (its queries, cursors and publishing);
    `close_resources` releases what the fetcher opened (HTTP client, control store); `flows`
    label the fetch metrics (casebridge.fetch_metrics) the schedule starts.
    """

    transport: Transport
    topology: Topology
    fetch_pass: Callable[[], Awaitable[int]]
    schedule: Schedule
    close_resources: Callable[[], Awaitable[None]] | None = None
    flows: Sequence[str] = ()
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _loop_task: asyncio.Task[None] | None = field(default=None, init=False)
    _declared: bool = field(default=False, init=False)

    async def connect(self) -> None:
        """Connect and declare the topology."""
        await self.transport.connect()
        await self.transport.declare(self.topology)
        self._declared = True

    async def run_once(self) -> int:
        """Connect, run one pass, release everything; returns records published."""
        try:
            await self.connect()
            return await self.fetch_pass()
        finally:
            await self.transport.close()
            await self._close_resources()

    async def start(self) -> None:
        """Connect and start the scheduled passes in the background."""
        await self.connect()
        FetchMetrics.for_registry().scheduled(self.flows, interval_of(self.schedule, _utc_now()))
        self._loop_task = asyncio.get_running_loop().create_task(
            run_on_schedule(self.fetch_pass, self.schedule, self.stopping)
        )

    async def stop(self) -> None:
        """Let the current pass finish, then disconnect and release resources."""
        self.stopping.set()
        try:
            if self._loop_task is not None:
                await self._loop_task
            await self.transport.close()
        finally:
            await self._close_resources()

    def ready(self) -> bool:
        """Ready once the topology is declared, while the broker connection is up."""
        return self._declared and self.transport.is_ready

    async def _close_resources(self) -> None:
        if self.close_resources is not None:
            await self.close_resources()
