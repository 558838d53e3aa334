"""What the fetchers did, per flow: the numbers that tell a stalled flow from a quiet one.

- `casebridge_fetch_last_success_timestamp_seconds{flow}`: end of the last successful pass, or
  the fetcher's start until its first success (so a fetcher that never succeeds is alerted on
  too); alert when it is older than a few `casebridge_fetch_interval_seconds`;
- `casebridge_fetch_interval_seconds`: the time between scheduled passes (a cron schedule: its
  current gap between fire times);
- `casebridge_fetch_pass_seconds{flow, outcome}`: pass duration (outcome ok or failed);
- `casebridge_fetch_records_total{flow, stage}`: records read from the source (`fetched`) and
  published to the bus (`published`);
- `casebridge_fetch_cursor_lag_seconds{cursor}`: how far behind the clock a query's cursor
  stands, computed at scrape time from the last value the fetcher stored. On a source where
  nothing changes the lag grows too (the cursor is the newest change seen); the alert threshold
  is for a source that keeps changing.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

FETCHED = "fetched"
PUBLISHED = "published"


class FetchMetrics:
    """The fetch metrics, once per Prometheus registry."""

    _by_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, FetchMetrics]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, registry: CollectorRegistry) -> None:
        self.last_success = Gauge(
            "casebridge_fetch_last_success_timestamp_seconds",
            "Unix time the last successful fetch pass of a flow ended.",
            ["flow"],
            registry=registry,
        )
        self.duration = Histogram(
            "casebridge_fetch_pass_seconds",
            "Duration of a flow's fetch pass, by outcome (ok, failed).",
            ["flow", "outcome"],
            registry=registry,
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
        )
        self.records = Counter(
            "casebridge_fetch_records",
            "Records a flow's fetch passes read from the source (fetched) and published.",
            ["flow", "stage"],
            registry=registry,
        )
        self.interval = Gauge(
            "casebridge_fetch_interval_seconds",
            "Seconds between the fetcher's scheduled passes.",
            registry=registry,
        )
        self.cursor_lag = Gauge(
            "casebridge_fetch_cursor_lag_seconds",
            "Seconds between now and the position of a fetch query's stored cursor.",
            ["cursor"],
            registry=registry,
        )
        self._cursors: dict[str, float] = {}
        self._started_flows: set[str] = set()
        self._lag_children: dict[str, Any] = {}

    @classmethod
    def for_registry(cls, registry: CollectorRegistry = REGISTRY) -> FetchMetrics:
        """The metrics bound to `registry`, created once (Prometheus refuses duplicates)."""
        found = cls._by_registry.get(registry)
        if found is None:
            found = cls._by_registry[registry] = cls(registry)
        return found

    def scheduled(self, flows: Iterable[str], interval_s: float) -> None:
        """The fetcher starts: its schedule, and its start as the flows' last success until a
        real one (a flow never passing must age like one that stopped passing)."""
        self.interval.set(interval_s)
        for flow in flows:
            if flow not in self._started_flows:
                self._started_flows.add(flow)
                self.last_success.labels(flow=flow).set_to_current_time()

    async def measure_pass(self, flow: str, run: Callable[[], Awaitable[int]]) -> int:
        """Run one flow's pass, timing it; on success count what it published."""
        started = time.monotonic()
        try:
            published = await run()
        except BaseException:
            self.duration.labels(flow=flow, outcome="failed").observe(time.monotonic() - started)
            raise
        self.duration.labels(flow=flow, outcome="ok").observe(time.monotonic() - started)
        self.records.labels(flow=flow, stage=PUBLISHED).inc(published)
        self.last_success.labels(flow=flow).set_to_current_time()
        return published

    def fetched(self, flow: str, count: int) -> None:
        """Count records read from the source for `flow`."""
        self.records.labels(flow=flow, stage=FETCHED).inc(count)

    def cursor_at(self, cursor: str, value: str | datetime) -> None:
        """`cursor` stands at `value` (ISO text or a datetime), as read or just stored by a
        fetcher; a value that is not a time is ignored."""
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        except ValueError:
            return
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        self._cursors[cursor] = moment.timestamp()
        if cursor not in self._lag_children:
            child = self.cursor_lag.labels(cursor=cursor)
            child.set_function(lambda: time.time() - self._cursors[cursor])
            self._lag_children[cursor] = child
