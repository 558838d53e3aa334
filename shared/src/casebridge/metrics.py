"""Prometheus metrics of the consumer wrapper: handled / retried / dead-lettered per queue."""

from __future__ import annotations

import weakref
from typing import Any, ClassVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram


class ConsumerMetrics:
    """Counters and a latency histogram, one set per Prometheus registry."""

    #: Weakly keyed by the registry itself: an `id()` key outlives its registry, and a new
    #: registry at a reused address would get the dead one's counters.
    _by_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, ConsumerMetrics]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, registry: CollectorRegistry) -> None:
        # labels() costs a lock and a dict lookup per call; children are cached per label set.
        self._counters: dict[tuple[str, str], Any] = {}
        self._histograms: dict[str, Any] = {}
        self.messages = Counter(
            "casebridge_messages",
            "Messages finished by the consumer wrapper, by queue and outcome"
            " (handled, skipped_<reason>, superseded, parked, retried, dead_lettered, requeued).",
            ["queue", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "casebridge_handler_seconds",
            "Time from delivery to settlement, by queue.",
            ["queue"],
            registry=registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> ConsumerMetrics:
        """The metrics bound to `registry`, created once (Prometheus refuses duplicates)."""
        metrics = cls._by_registry.get(registry)
        if metrics is None:
            metrics = cls._by_registry[registry] = cls(registry)
        return metrics

    @classmethod
    def default(cls) -> ConsumerMetrics:
        """Metrics on the process-wide registry that `/metrics` serves."""
        return cls.for_registry(REGISTRY)

    def count(self, queue: str, outcome: str) -> None:
        """Count one finished message."""
        key = (queue, outcome)
        child = self._counters.get(key)
        if child is None:
            child = self._counters[key] = self.messages.labels(queue=queue, outcome=outcome)
        child.inc()

    def observe(self, queue: str, seconds: float) -> None:
        """Record one handling time."""
        child = self._histograms.get(queue)
        if child is None:
            child = self._histograms[queue] = self.latency.labels(queue=queue)
        child.observe(seconds)
