"""`casebridge_loader_breaker_state{target, state}`: 1 for the state each breaker is in, else 0.

Read from the breakers at scrape time, not pushed on changes: an open breaker turns half-open
by the clock alone (the cooldown passing), which no event reports. Alert on
`casebridge_loader_breaker_state{state="closed"} == 0` for a while: during an outage the breaker
goes open -> half-open (one probe) -> open, never closed.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import ClassVar

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from loader.breaker import BreakerState, CircuitBreaker


class BreakerMetrics(Collector):
    """The breakers this process watches, one collector per registry."""

    _by_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, BreakerMetrics]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self) -> None:
        #: By target: a process has one breaker per target; a newer one replaces the older.
        self._breakers: weakref.WeakValueDictionary[str, CircuitBreaker] = (
            weakref.WeakValueDictionary()
        )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry = REGISTRY) -> BreakerMetrics:
        """The collector registered on `registry`, created once."""
        found = cls._by_registry.get(registry)
        if found is None:
            found = cls._by_registry[registry] = cls()
            registry.register(found)
        return found

    def watch(self, breaker: CircuitBreaker) -> None:
        """Report `breaker` from now on (until it is garbage)."""
        self._breakers[breaker.target] = breaker

    def collect(self) -> Iterator[Metric]:
        """One sample per breaker and state."""
        family = GaugeMetricFamily(
            "casebridge_loader_breaker_state",
            "Circuit breaker of a loader's target: 1 for its current state (closed, open,"
            " half_open), 0 for the others.",
            labels=["target", "state"],
        )
        for breaker in list(self._breakers.values()):
            current = breaker.state
            for state in BreakerState:
                family.add_metric([breaker.target, state.value], 1.0 if state is current else 0.0)
        yield family
