"""The generic half of every target: what must hold whatever system the loader writes to.

Order for one command (under a per-record lock, so commands for one record never interleave):
1. idempotency: already applied (message id, or once-only key) -> `Superseded`;
2. stale-write guard: older than the applied source version -> `Superseded`;
3. circuit breaker: open -> `TargetUnavailable` (parked, no attempt counted);
4. once-only operations (a write that repeats its side effect, e.g. an OSCaR upsert creating
   a referral): an intent left by an interrupted attempt -> ask the target (`reconcile`) and
   write only if it holds nothing; else record the intent durably before the write;
5. the write; its follow-up commands published (confirmed); then the message id, the applied
   version and a `loaded` lineage row (`reconciled` when the target already held it).

Why the intent: the completion (step 5's records) can only follow the target's answer, so a
crash or a control-store outage between the two would otherwise leave an effect nobody
remembers, and the redelivered command would create the referral a second time.

Steps 1-2 read together and the step-4 bookkeeping is written together, so over a
`BatchingControlStore` one command costs one batched read round and one batched write round.

A refused deployment (`ConfigurationError`: a key or password refused, a client certificate
refused at the TLS handshake) opens the breaker at once with that reason and parks the message:
every message would fail the same way, and dead-lettering them all would leave the admin a mass
replay. The half-open probe after each cooldown finds out when an operator has fixed it.

Steps 1-2 run before the breaker, so commands that need no write are acked even while the
target is down. Every `Superseded` leaves a `superseded` lineage row.

The breaker's state changes are written to the control store (one row per target and loader
process, `instance`), so `casebridge status` can list open circuits: `closed` at start, then
each change as it happens (never per request), and the row is dropped on a clean stop. A
failed write is logged and retried with the next change or call; it never fails a command.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import structlog

from casebridge.control import BreakerRecord, ControlStore
from casebridge.errors import (
    ConfigurationError,
    PermanentError,
    Superseded,
    TargetUnavailable,
    TransientError,
)
from casebridge.intents import loader_stage
from casebridge.messages import UpsertCommand
from loader import write_metrics
from loader.breaker import BreakerChange, BreakerState, CircuitBreaker
from loader.breaker_metrics import BreakerMetrics
from loader.errors import DependencyPending, NotSent
from loader.idempotency import ProcessedCommands
from loader.keyed_locks import KeyedLocks
from loader.keys import key_text
from loader.lineage import LOADED, RECONCILED, SUPERSEDED, lineage_entry
from loader.staleness import StaleWriteGuard, aware
from loader.write_metrics import WriteMetrics
from loader.writer import Writer, Written

log = structlog.get_logger(__name__)


def process_instance() -> str:
    """This loader process among its replicas: host (the pod's name) and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


class GuardedTarget:
    """A `Target` made of a `Writer` plus idempotency, staleness, breaker and lineage."""

    def __init__(
        self,
        writer: Writer,
        store: ControlStore,
        breaker: CircuitBreaker,
        *,
        instance: str | None = None,
    ) -> None:
        self.name = writer.name
        #: Which process the persisted breaker row belongs to.
        self.instance = instance or process_instance()
        self._breaker_saving = asyncio.Lock()
        self.writer = writer
        self.store = store
        self.breaker = breaker
        self.processed = ProcessedCommands(store, loader_stage(writer.name), writer.once_per_key)
        self.versions = StaleWriteGuard(store, writer.name)
        self._locks = KeyedLocks()
        self.metrics = WriteMetrics.for_registry()
        BreakerMetrics.for_registry().watch(breaker)
        #: Targets the writer's follow-ups go to (declared by the loader's composition root).
        self.follow_up_targets: tuple[str, ...] = tuple(getattr(writer, "follow_up_targets", ()))
        self._publish: Callable[[Sequence[UpsertCommand]], Awaitable[None]] | None = None

    def use_publisher(self, publish: Callable[[Sequence[UpsertCommand]], Awaitable[None]]) -> None:
        """How follow-up commands are published (the composition root's confirmed publisher)."""
        self._publish = publish

    def ready(self) -> bool:
        """Ready while the breaker is closed: open or half-open, the loader is alive (its
        consumer parks messages and `/healthz` answers) but cannot deliver to its target."""
        return self.breaker.state is BreakerState.CLOSED

    async def start(self) -> None:
        """Open the writer's sessions; record this process's breaker as it starts (closed)."""
        await self.writer.start()
        await self._save_breaker(self.breaker.snapshot())

    async def close(self) -> None:
        """Close the writer's sessions and drop this process's breaker row (the store belongs
        to the composition root)."""
        try:
            await self.store.forget_breaker(self.name, self.instance)
        except Exception as exc:  # the row stays; the next start of this instance replaces it
            log.warning("breaker_row_not_dropped", error_class=type(exc).__name__)
        await self.writer.close()

    async def apply(self, command: UpsertCommand) -> None:
        """Apply one command at most once, never over newer data."""
        async with self._locks.hold(key_text(command.key)):
            try:
                # One read round: both lookups join the same batch of a batching store.
                seen, applied = await asyncio.gather(
                    self.processed.lookup(command), self.versions.lookup(command)
                )
                interrupted = self.processed.decide(command, seen)
                self.versions.decide(command, applied)
                written = await self._write(command, interrupted)
            except Superseded as exc:
                self.metrics.count(self.name, command.operation, write_metrics.SUPERSEDED)
                await self.store.record_lineage([lineage_entry(command, SUPERSEDED)])
                log.info("command_superseded", operation=command.operation, reason=str(exc))
                raise
            if written.follow_ups:
                if self._publish is None:
                    raise PermanentError(f"{self.name} has follow-up commands but no publisher")
                await self._publish(written.follow_ups)
            outcome = RECONCILED if written.reconciled else LOADED
            # One write round: with a batching store, one transaction holds all three.
            await asyncio.gather(
                self.processed.remember(command),
                self.versions.record(command),
                self.store.record_lineage([lineage_entry(command, outcome, written.target_id)]),
            )
            log.info("command_loaded", operation=command.operation, outcome=outcome)
            self.metrics.count(
                self.name, command.operation, _write_outcome(command, applied, written)
            )

    async def _write(self, command: UpsertCommand, interrupted: bool) -> Written:
        try:
            return await self._write_through_breaker(command, interrupted)
        finally:
            if self.breaker.has_change:  # a state change, not a request: rare
                await self._save_breaker()

    async def _save_breaker(self, change: BreakerChange | None = None) -> None:
        """Persist `change`, else the breaker's latest untaken change; never raises."""
        async with self._breaker_saving:  # in order: an older change never lands last
            change = change or self.breaker.take_change()
            if change is None:
                return
            record = BreakerRecord(
                target=self.name,
                instance=self.instance,
                state=change.state.value,
                since=change.since,
                failures=change.failures,
                last_error_class=change.last_error_class,
            )
            try:
                await self.store.record_breaker(record)
            except Exception as exc:
                self.breaker.give_back(change)
                log.warning(
                    "breaker_state_not_saved", state=record.state, error_class=type(exc).__name__
                )

    async def _write_through_breaker(self, command: UpsertCommand, interrupted: bool) -> Written:
        self.breaker.check()
        try:
            written = await self._timed_send(command, interrupted)
        except TargetUnavailable:
            self.breaker.abandon()
            raise
        except DependencyPending:
            self.breaker.record_success()
            raise
        except ConfigurationError as exc:
            # The deployment's fault, not the record's: park the queue rather than dead-letter
            # every message until someone fixes the credentials or the certificate.
            reason = f"{self.name} refused our credentials or certificate: {exc}"
            self.breaker.refuse(type(exc).__name__, reason)
            raise TargetUnavailable(reason, retry_after=self.breaker.cooldown_s) from exc
        except TransientError as exc:
            self.breaker.record_failure(type(exc).__name__)
            raise
        except Superseded:
            # The target answered that it already holds the effect: never send it again.
            self.breaker.record_success()
            await self.processed.remember(command)
            raise
        except PermanentError:
            self.breaker.record_success()  # a refusal: the target is up and answering
            raise
        except (asyncio.CancelledError, Exception):
            self.breaker.abandon()  # says nothing about the target (shutdown, a bug)
            raise
        self.breaker.record_success()
        return written

    async def _timed_send(self, command: UpsertCommand, interrupted: bool) -> Written:
        """`_send`, its time at the target recorded by outcome (see `write_metrics`)."""
        started = time.monotonic()
        outcome = "error"
        try:
            written = await self._send(command, interrupted)
            outcome = "ok"
            return written
        except BaseException as exc:
            outcome = _request_outcome(exc)
            raise
        finally:
            self.metrics.observe_target(
                self.name, command.operation, outcome, time.monotonic() - started
            )

    async def _send(self, command: UpsertCommand, interrupted: bool) -> Written:
        """The write, behind an intent when it repeats a side effect (module docstring, 4)."""
        if not self.processed.needs_intent(command):
            return await self.writer.write(command)
        if interrupted:
            found = await self.writer.reconcile(command)
            log.warning(
                "interrupted_write_reconciled",
                operation=command.operation,
                target_holds_it=found is not None,
            )
            if found is not None:
                return Written(found.target_id, found.follow_ups, reconciled=True)
        else:
            await self.processed.record_intent(command)
        try:
            return await self.writer.write(command)
        except Superseded:
            raise
        except Exception as exc:
            if isinstance(exc, NotSent) or self.writer.left_nothing(command, exc):
                await self.processed.drop_intent(command)
            elif isinstance(exc, PermanentError) and not isinstance(exc, ConfigurationError):
                # Dead-lettered with its intent kept: a plain replay would be refused as
                # uncertain, so the reason says what to do.
                exc.add_note(
                    f"{self.name} may have applied it before refusing: check {self.name}, then"
                    " replay with `casebridge dlq replay ID --resend` if it is missing"
                )
            raise


def _write_outcome(command: UpsertCommand, applied: datetime | None, written: Written) -> str:
    """`reconciled`, `repeated` (the record already held this source version) or `written`."""
    if written.reconciled:
        return write_metrics.RECONCILED
    version = command.source.updated_at
    if version is not None and applied is not None and aware(applied) == aware(version):
        return write_metrics.REPEATED
    return write_metrics.WRITTEN


def _request_outcome(exc: BaseException) -> str:
    """How the target answered a write that raised `exc` (write_metrics' outcome labels)."""
    if isinstance(exc, Superseded):
        return "superseded"
    if isinstance(exc, DependencyPending):
        return "pending"
    if isinstance(exc, ConfigurationError):
        return "refused_deployment"
    if isinstance(exc, PermanentError):
        return "refused"
    if isinstance(exc, TransientError):
        return "transient"
    return "error"
