"""Everything one DTP simulator holds; tests get this object as their handle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dtp_sim.config import DtpConfig
from simkit.clock import SimClock
from simkit.connections import ConnectionRegistry
from simkit.faults import FaultBook
from simkit.journal import Journal


@dataclass(slots=True)
class Received:
    """A message DTP accepted (passed the key and certificate checks)."""

    seq: int
    endpoint: str
    body: Any
    received_at: datetime
    message_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "endpoint": self.endpoint,
            "request_type": self.body.get("request_type") if isinstance(self.body, dict) else None,
            "body": self.body,
            "time": self.received_at.isoformat(),
            "message_id": self.message_id,
        }


@dataclass(slots=True)
class Pushed:
    """One webhook DTP pushed to casebridge, and what came back."""

    seq: int
    url: str
    body: dict[str, Any]
    sent_at: datetime
    status: int | None = None
    response: Any = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "url": self.url,
            "request_type": self.body.get("request_type"),
            "body": self.body,
            "time": self.sent_at.isoformat(),
            "status": self.status,
            "response": self.response,
            "error": self.error,
        }


@dataclass
class DtpSim:
    config: DtpConfig = field(default_factory=DtpConfig)
    clock: SimClock = field(default_factory=SimClock)
    connections: ConnectionRegistry = field(default_factory=ConnectionRegistry)
    journal: Journal = field(default_factory=Journal)
    faults: FaultBook = field(default_factory=FaultBook)
    received: list[Received] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    pushed: list[Pushed] = field(default_factory=list)
    #: Referral ids `decide_received` has answered.
    answered: set[str] = field(default_factory=set)
    #: Upstream addresses of connections the mTLS listener relays -> client cert thumbprint.
    tls_peers: dict[tuple[str, int], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.faults.reseed(self.config.seed)

    def reset(self) -> None:
        """Forget received messages, the outbox, pushes, the journal and faults."""
        self.received.clear()
        self.outbox.clear()
        self.pushed.clear()
        self.answered.clear()
        self.journal.clear()
        self.faults.clear()
        self.faults.reseed(self.config.seed)
        self.clock.release()

    def seed_samples(self) -> int:
        from dtp_sim.samples import reference_decisions, reference_referrals

        messages = reference_referrals() + reference_decisions()
        self.outbox.extend(messages)
        return len(messages)

    def decide_received(self, seed: int = 0) -> int:
        """Queue a decision for every Primero referral received and not yet answered."""
        from dtp_sim.endpoints import RECEIVE_INCOMING_REFERRAL
        from dtp_sim.generate import decisions_answering

        ids = [
            str(r.body["id"])
            for r in self.received
            if isinstance(r.body, dict)
            and r.body.get("request_type") == RECEIVE_INCOMING_REFERRAL
            and r.body.get("id")
            and str(r.body["id"]) not in self.answered
        ]
        ids = list(dict.fromkeys(ids))  # a re-sent referral is answered once
        self.answered.update(ids)
        messages = decisions_answering(ids, seed=seed, now=self.clock.now())
        self.outbox.extend(messages)
        return len(messages)

    def seed_generated(self, referrals: int, decisions: int, seed: int) -> int:
        from dtp_sim.generate import generate_decision_messages, generate_referral_messages

        now = self.clock.now()
        messages = generate_referral_messages(referrals, seed=seed, now=now)
        messages += generate_decision_messages(decisions, seed=seed, now=now)
        self.outbox.extend(messages)
        return len(messages)
