"""What a loader did to its target, by operation: the counts an operator and the chaos matrix
read to tell a first write from a repeat.

- `written`: sent to the target, the first time this source version reached that record;
- `repeated`: sent again for a source version the record already holds (a redelivery or replay
  of an idempotent write: a link, a status, an ONA upsert, a Primero merge). Harmless by design,
  but counted, so "effectively once" can be checked rather than assumed;
- `reconciled`: an interrupted once-only write the target was found to hold (not sent again);
- `superseded`: not sent (already applied, or older than what the target holds).
"""

from __future__ import annotations

import weakref
from typing import Any, ClassVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter

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
        self._children: dict[tuple[str, str, str], Any] = {}

    @classmethod
    def for_registry(cls, registry: CollectorRegistry = REGISTRY) -> WriteMetrics:
        """The metrics bound to `registry`, created once (Prometheus refuses duplicates)."""
        found = cls._by_registry.get(registry)
        if found is None:
            found = cls._by_registry[registry] = cls(registry)
        return found

    def count(self, target: str, operation: str, outcome: str) -> None:
        key = (target, operation, outcome)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.writes.labels(*key)
        child.inc()
