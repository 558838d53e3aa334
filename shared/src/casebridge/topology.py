"""The broker topology as data: exchanges, work queues, their retry tiers and dead-letter queues.

Every work queue `Q` gets `Q.retry.<delay>` tiers (TTL queues that dead-letter back into `Q`) and
`Q.dlq`. Limits and dead-letter exchanges are always explicit: RabbitMQ 4 gives quorum queues an
implicit delivery limit of 20 that *drops* messages when no dead-letter exchange is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from casebridge.messages import Envelope, RawRecord, UpsertCommand

QueueType = Literal["quorum", "classic"]

#: Loader targets casebridge ships; a plugin target is added by name, nothing else changes.
DEFAULT_TARGETS = ("oscar", "primero", "progres", "ona")
#: Retry delays in seconds, one TTL queue each; the n-th retry waits in the n-th tier.
DEFAULT_RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0, 600.0)


@dataclass(frozen=True)
class ExchangeSpec:
    """An exchange to declare (durable)."""

    name: str
    type: Literal["topic", "direct", "fanout"]


@dataclass(frozen=True)
class QueueSpec:
    """A queue to declare (durable) with its exact arguments."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BindingSpec:
    """A binding of `queue` to `exchange` under `routing_key`."""

    queue: str
    exchange: str
    routing_key: str


def retry_queue_name(queue: str, delay_s: float) -> str:
    """`loader.oscar` + 5.0 -> `loader.oscar.retry.5s` (sub-second tiers keep milliseconds)."""
    label = f"{int(delay_s)}s" if float(delay_s).is_integer() else f"{int(delay_s * 1000)}ms"
    return f"{queue}.retry.{label}"


def dead_letter_queue_name(queue: str) -> str:
    """`loader.oscar` -> `loader.oscar.dlq`."""
    return f"{queue}.dlq"


@dataclass(frozen=True)
class WorkQueue:
    """A queue a service consumes, with everything its failure handling needs."""

    name: str
    bindings: tuple[tuple[str, str], ...]
    dead_letter_exchange: str
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    delivery_limit: int = 20
    queue_type: QueueType = "quorum"

    @property
    def dlq(self) -> str:
        """Name of this queue's dead-letter queue."""
        return dead_letter_queue_name(self.name)

    def retry_queue_for(self, delay_s: float) -> tuple[str, float]:
        """The tier that waits at least `delay_s` (the longest tier if none does)."""
        for tier in self.retry_delays:
            if tier >= delay_s:
                return retry_queue_name(self.name, tier), tier
        tier = self.retry_delays[-1]
        return retry_queue_name(self.name, tier), tier

    def retry_queue_for_attempt(self, attempt: int) -> tuple[str, float]:
        """Exponential backoff by tiers: the first retry waits in tier 0, the next in tier 1..."""
        tier = self.retry_delays[min(max(attempt - 1, 0), len(self.retry_delays) - 1)]
        return retry_queue_name(self.name, tier), tier

    def queues(self) -> list[QueueSpec]:
        """The work queue, its retry tiers and its DLQ, with explicit arguments."""
        work_args: dict[str, Any] = {
            "x-queue-type": self.queue_type,
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-routing-key": self.name,
        }
        if self.queue_type == "quorum":
            # Poison messages that crash consumers are dead-lettered after this many deliveries;
            # at-least-once dead-lettering needs reject-publish overflow.
            work_args["x-delivery-limit"] = self.delivery_limit
            work_args["x-dead-letter-strategy"] = "at-least-once"
            work_args["x-overflow"] = "reject-publish"
        specs = [QueueSpec(self.name, work_args)]
        for delay in self.retry_delays:
            specs.append(
                QueueSpec(
                    retry_queue_name(self.name, delay),
                    {
                        "x-queue-type": "classic",
                        "x-message-ttl": int(delay * 1000),
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": self.name,
                    },
                )
            )
        # Lazy: a DLQ may grow large while a target is down; keep it on disk, not in memory.
        specs.append(QueueSpec(self.dlq, {"x-queue-type": "classic", "x-queue-mode": "lazy"}))
        return specs


@dataclass(frozen=True)
class Topology:
    """Everything to declare, plus how messages are routed; declared idempotently at start-up."""

    exchanges: tuple[ExchangeSpec, ...]
    work_queues: Mapping[str, WorkQueue]
    raw_exchange: str
    command_exchange: str
    dead_letter_exchange: str

    def queues(self) -> list[QueueSpec]:
        """Every queue of every work queue."""
        return [spec for wq in self.work_queues.values() for spec in wq.queues()]

    def bindings(self) -> list[BindingSpec]:
        """Work-queue bindings plus each DLQ bound on the dead-letter exchange."""
        out: list[BindingSpec] = []
        for wq in self.work_queues.values():
            out.extend(BindingSpec(wq.name, ex, rk) for ex, rk in wq.bindings)
            out.append(BindingSpec(wq.dlq, self.dead_letter_exchange, wq.name))
        return out

    def route(self, message: Envelope) -> tuple[str, str]:
        """Exchange and routing key for a message we publish."""
        if isinstance(message, UpsertCommand):
            return self.command_exchange, message.target
        if isinstance(message, RawRecord):
            return self.raw_exchange, f"{message.flow}.{message.source.system}"
        raise ValueError(f"no route for message type {message.message_type!r}")

    def work_queue(self, name: str) -> WorkQueue:
        """Look a work queue up by its full name."""
        return self.work_queues[name]


def transformer_queue(prefix: str) -> str:
    """Name of the transformer's work queue."""
    return f"{prefix}.transformer"


def loader_queue(prefix: str, target: str) -> str:
    """Name of one loader target's work queue."""
    return f"{prefix}.loader.{target}"


def build_topology(
    prefix: str = "cb",
    *,
    targets: Iterable[str] = DEFAULT_TARGETS,
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
    delivery_limit: int = 20,
    queue_type: QueueType = "quorum",
) -> Topology:
    """casebridge's topology; `prefix` namespaces every name (one per deployment or test)."""
    raw, commands, dlx = f"{prefix}.raw", f"{prefix}.commands", f"{prefix}.dlx"

    def work(name: str, bindings: tuple[tuple[str, str], ...]) -> WorkQueue:
        return WorkQueue(
            name=name,
            bindings=bindings,
            dead_letter_exchange=dlx,
            retry_delays=retry_delays,
            delivery_limit=delivery_limit,
            queue_type=queue_type,
        )

    queues = [work(transformer_queue(prefix), ((raw, "#"),))]
    queues += [work(loader_queue(prefix, t), ((commands, t),)) for t in targets]
    return Topology(
        exchanges=(
            ExchangeSpec(raw, "topic"),
            ExchangeSpec(commands, "direct"),
            ExchangeSpec(dlx, "direct"),
        ),
        work_queues={wq.name: wq for wq in queues},
        raw_exchange=raw,
        command_exchange=commands,
        dead_letter_exchange=dlx,
    )
