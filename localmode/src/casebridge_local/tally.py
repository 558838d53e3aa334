"""Per-flow counts of what really happened, filled by the taps (`casebridge_local.taps`).

fetched: raw records the fetchers and the inbox published (broker-confirmed);
commands: upsert commands the transformer produced, plus follow-ups a loader target published
(Primero -> DTP feedback); loaded / superseded: what each loader target's `apply` returned;
dead-lettered: messages a consumer put in a DLQ, with their reasons; mapped: raw records the
transformer finished (with or without commands), so `done` reaches `total` exactly when every
message of the flow has ended. refused: webhooks the inbox refused (never fetched: DTP keeps
them), with the inbox's answer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

#: The order of the summary: Cambodia, proGres, ONA; anything else (e.g. an undecodable
#: dead letter, flow "?") after these.
FLOW_ORDER = ("c0", "c1", "c2", "p1", "p2", "p3", "p4", "o1")


@dataclass
class FlowCounts:
    fetched: int = 0
    commands: int = 0
    loaded: int = 0
    superseded: int = 0
    dead_lettered: int = 0
    mapped: int = 0
    refused: int = 0
    #: Dead letters by (stage, reason): why, not only how many (reasons carry ids, never data).
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Inbox refusals by the inbox's answer (status, error, field): never the body.
    refusals: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """Messages that entered the pipeline for this flow (raw records and commands)."""
        return self.fetched + self.commands

    @property
    def done(self) -> int:
        """Messages that reached an end: mapped, loaded, superseded or dead-lettered."""
        return self.mapped + self.loaded + self.superseded + self.dead_lettered


class Tally:
    """Counts per flow; one per run, shared by every tap (single event loop, no locks)."""

    def __init__(self) -> None:
        self._flows: defaultdict[str, FlowCounts] = defaultdict(FlowCounts)
        for flow in FLOW_ORDER:
            self._flows[flow]

    def __getitem__(self, flow: str) -> FlowCounts:
        return self._flows[flow]

    def flows(self) -> list[tuple[str, FlowCounts]]:
        """Every flow with its counts, in summary order."""
        rank = {flow: i for i, flow in enumerate(FLOW_ORDER)}
        return sorted(self._flows.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
