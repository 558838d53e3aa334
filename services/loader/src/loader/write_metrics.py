"""What a loader did to its target, by operation: the counts an operator and the chaos matrix
read to tell a first write from a repeat.

- `written`: sent to the target, the first time this source version reached that record;
- `repeated`: sent again for a source version the record already holds (a redelivery or replay
  of an idempotent write: a link, a status, an ONA upsert, a Primero merge). Harmless by design,
  but counted, so "effectively once" can be checked rather than assumed;
- `reconciled`: an interrupted once-only write the target was found to hold (not sent again);
- `superseded`: not sent (already applied, or older than what the target holds).

`casebridge_loader_target_seconds{target, operation, outcome}` is the time one command's write
took at the target (all its requests), by how the target answered: `ok`, `superseded` (it
already held the effect), `pending` (a dependency is not there yet), `refused` (a permanent
refusal), `refused_deployment` (credentials or certificate), `transient` (5xx, 429, timeout,
no connection), `error` (anything else).
"""

from __future__ import annotations

import weakref
from typing import Any, ClassVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

WRITTEN = "written"
REPEATED = "repeated"
RECONCILED = "reconciled"
SUPERSEDED = "superseded"


class WriteMetrics:
    """`casebridge_loader_writes_total{target, operation, outcome}`, once per registry."""

    _by_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, WriteMetrics]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, registry: CollectorRegistry) -> None:
        self.writes = Counter(
            "casebridge_loader_writes",
            "Commands a loader finished, by target, operation and outcome"
            " (written, repeated, reconciled, superseded).",
            ["target", "operation", "outcome"],
            registry=registry,
        )
        self.target_seconds = Histogram(
            "casebridge_loader_target_seconds",
            "Time one command's write took at the target, by target, operation and outcome.",
            ["target", "operation", "outcome"],
            registry=registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self._children: dict[tuple[str, str, str], Any] = {}
        self._latency_children: dict[tuple[str, str, str], Any] = {}

    @classmethod
    def for_registry(cls, registry: CollectorRegistry = REGISTRY) -> WriteMetrics:
        """The metrics bound to `registry`, created once (Prometheus refuses duplicates)."""
        found = cls._by_registry.get(registry)
        if found is None:
            found = cls._by_registry[registry] = cls(registry)
        return found

    def observe_target(self, target: str, operation: str, outcome: str, seconds: float) -> None:
        """Record how long one write took at the target, and how it ended."""
        key = (target, operation, outcome)
        child = self._latency_children.get(key)
        if child is None:
            child = self._latency_children[key] = self.target_seconds.labels(*key)
        child.observe(seconds)

    def count(self, target: str, operation: str, outcome: str) -> None:
        key = (target, operation, outcome)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.writes.labels(*key)
        child.inc()
