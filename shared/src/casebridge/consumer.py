"""The consumer wrapper: the only code that decides ack, retry or dead letter.

decode -> validate -> bind log context -> call a plain handler -> publish its outputs (confirmed)
-> ack. Handlers know nothing about AMQP; they return messages to publish, or raise.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from casebridge import headers as h
from casebridge.background import BackgroundTasks
from casebridge.confirms import all_confirmed
from casebridge.errors import (
    InvalidMessage,
    PartlyFailed,
    PermanentError,
    RecordTooLarge,
    Superseded,
    TargetUnavailable,
    TransientError,
)
from casebridge.messages import Envelope, MessageRegistry
from casebridge.metrics import ConsumerMetrics
from casebridge.publishing import to_outgoing
from casebridge.skips import Skipped
from casebridge.topology import Topology, WorkQueue
from casebridge.transport import ConsumerHandle, Delivery, Outgoing, Transport

log = structlog.get_logger(__name__)

#: A handler takes one validated message and returns the messages it produces (may be none).
#: Plain functions (pure mappings) take a faster path than coroutine functions (I/O).
AsyncHandler = Callable[[Envelope], Awaitable[Sequence[Envelope] | None]]
SyncHandler = Callable[[Envelope], Sequence[Envelope] | None]
Handler = AsyncHandler | SyncHandler


class Consumer:
    """Consumes one work queue with a handler, owning every delivery decision.

    - success -> outputs published with confirms, then the input is acked (batched);
    - `Skipped` returned (nothing to publish, and why) -> acked, counted `skipped_<reason>`
      and logged with the record id; any other empty result is counted `handled`;
    - a body over `max_record_bytes` -> dead-lettered (`RecordTooLarge`) before the handler;
    - `Superseded` -> acked and counted (the target already holds newer data);
    - `TransientError` -> re-published to the next retry tier (or the tier that covers the
      handler's `retry_after`), attempt count in headers; dead-lettered once `max_attempts` is
      reached;
    - `PermanentError` / `InvalidMessage` / undecodable -> dead-lettered at once;
    - `PartlyFailed` -> its good outputs published (confirmed), then dead-lettered with the bad
      part's reason; if publishing them fails, that failure decides instead (retry, or DLQ);
    - any other exception -> dead-lettered as a bug, with a short traceback;
    - shutdown -> in-flight handlers get `grace_s` to finish, the rest are returned to the queue.
    """

    def __init__(
        self,
        *,
        transport: Transport,
        topology: Topology,
        queue: str,
        handler: Handler,
        registry: MessageRegistry,
        stage: str,
        prefetch: int = 500,
        max_attempts: int = 8,
        grace_s: float = 20.0,
        mapping_version: str | None = None,
        metrics: ConsumerMetrics | None = None,
        max_record_bytes: int | None = None,
    ) -> None:
        self._transport = transport
        self._topology = topology
        self._queue: WorkQueue = topology.work_queue(queue)
        self._handler = handler
        self._is_async = inspect.iscoroutinefunction(handler)
        self._sync_in_flight = 0
        self._paused = False
        self._stopping = False
        self._resume_task: asyncio.Task[None] | None = None
        self._sync_idle = asyncio.Event()
        self._sync_idle.set()
        self._registry = registry
        self._stage = stage
        self._prefetch = prefetch
        self._max_attempts = max_attempts
        self._grace_s = grace_s
        self._mapping_version = mapping_version
        self._metrics = metrics or ConsumerMetrics.default()
        self._max_record_bytes = max_record_bytes
        self._handle: ConsumerHandle | None = None
        #: In-flight deliveries (async handlers, failures of sync ones); the resume after a pause.
        self._tasks = BackgroundTasks(f"consumer:{queue}")
        self._pauses = BackgroundTasks(f"consumer:{queue}")

    @property
    def in_flight(self) -> int:
        """Deliveries being handled right now."""
        return len(self._tasks) + self._sync_in_flight

    async def start(self) -> None:
        """Subscribe to the work queue."""
        self._handle = await self._transport.consume(
            self._queue.name, self._on_delivery, prefetch=self._prefetch
        )
        log.info("consumer_started", queue=self._queue.name, prefetch=self._prefetch)

    async def stop(self) -> None:
        """Stop consuming; finish or return in-flight messages; flush acks."""
        self._stopping = True
        if self._resume_task is not None:
            self._resume_task.cancel()
        if self._handle is not None:
            await self._handle.cancel()
        with contextlib.suppress(TimeoutError):  # confirms of the sync path arrive by callback
            await asyncio.wait_for(self._sync_idle.wait(), self._grace_s)
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=self._grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        if self._handle is not None:
            await self._handle.flush()
        log.info("consumer_stopped", queue=self._queue.name)

    def pause_for(self, seconds: float) -> None:
        """Stop taking deliveries for `seconds` (in-flight ones finish), then resume."""
        if self._paused or self._handle is None:
            return
        self._paused = True
        log.warning("consumer_paused", queue=self._queue.name, seconds=seconds)
        handle = self._handle
        self._resume_task = self._pauses.spawn(
            self._pause_then_resume(handle, seconds), name="resume"
        )

    async def _pause_then_resume(self, handle: ConsumerHandle, seconds: float) -> None:
        await handle.cancel()
        delay = seconds
        while not self._stopping:
            await asyncio.sleep(delay)
            if self._stopping:
                return
            try:
                await self.start()
            except Exception as exc:  # broker gone too: keep trying, never stay paused silently
                log.warning(
                    "consumer_resume_failed", queue=self._queue.name, error=type(exc).__name__
                )
                delay = min(delay * 2, 60.0)
                continue
            self._paused = False
            log.info("consumer_resumed", queue=self._queue.name)
            return

    def _on_delivery(self, delivery: Delivery) -> None:
        if self._is_async:
            self._tasks.spawn(self._process(delivery), name="deliver")
        else:
            self._process_now(delivery)

    def _process_now(self, delivery: Delivery) -> None:
        """The fast path for plain (sync) handlers: no task per message on success.

        The handler runs in the delivery callback, its outputs are sent at once, and the input is
        acked from the confirm callbacks. Any failure continues as a task on the common path.
        """
        attempt = int(delivery.headers.get(h.ATTEMPTS) or 0) + 1
        started = time.perf_counter()
        message: Envelope | None = None
        try:
            message = self._registry.decode(delivery.body, type_hint=delivery.message_type)
            self._check_size(delivery, message)
            result = self._handler(message)
            outputs = [self._outgoing(o) for o in result or ()]  # type: ignore[union-attr]
        except Exception as exc:
            self._fail_later(delivery, started, message, exc, attempt)
            return
        if not outputs:
            self._finish(delivery, _empty_outcome(message, result), started)  # type: ignore[arg-type]
            return
        self._sync_in_flight += 1
        self._sync_idle.clear()

        def all_settled(error: BaseException | None) -> None:
            self._sync_in_flight -= 1
            if not self._sync_in_flight:
                self._sync_idle.set()
            if error is None:
                self._finish(delivery, "handled", started)
            else:
                self._fail_later(delivery, started, message, error, attempt)

        confirmed = all_confirmed(len(outputs), all_settled)
        for out in outputs:
            self._transport.publish_then(out, confirmed)

    def _fail_later(
        self,
        delivery: Delivery,
        started: float,
        message: Envelope | None,
        exc: BaseException,
        attempt: int,
    ) -> None:
        work = self._settle(delivery, started, self._failed(delivery, message, exc, attempt))
        self._tasks.spawn(work, name="settle-failure")

    def _finish(self, delivery: Delivery, outcome: str, started: float) -> None:
        delivery.ack()
        self._metrics.count(self._queue.name, outcome)
        self._metrics.observe(self._queue.name, time.perf_counter() - started)

    async def _process(self, delivery: Delivery) -> None:
        attempt = int(delivery.headers.get(h.ATTEMPTS) or 0) + 1
        await self._settle(
            delivery, time.perf_counter(), self._decode_and_handle(delivery, attempt)
        )

    async def _settle(self, delivery: Delivery, started: float, work: Awaitable[str]) -> None:
        """Await the outcome, then ack; if recording a failure fails, hand the message back."""
        queue = self._queue.name
        try:
            outcome = await work
        except asyncio.CancelledError:
            delivery.requeue()
            self._metrics.count(queue, "requeued")
            raise
        except Exception as exc:
            # Typically the broker is gone: the message is returned untouched and redelivered,
            # so nothing is lost.
            log.warning("settle_failed_requeued", queue=queue, error_class=type(exc).__name__)
            delivery.requeue()
            self._metrics.count(queue, "requeued")
            return
        self._finish(delivery, outcome, started)

    async def _decode_and_handle(self, delivery: Delivery, attempt: int) -> str:
        try:
            message = self._registry.decode(delivery.body, type_hint=delivery.message_type)
        except InvalidMessage as exc:
            return await self._failed(delivery, None, exc, attempt)
        self._bind(message, attempt)
        try:
            self._check_size(delivery, message)
            result = await self._handler(message)  # type: ignore[misc]
            outputs = result or ()
            await self._publish_all(outputs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return await self._failed(delivery, message, exc, attempt)
        return "handled" if outputs else _empty_outcome(message, result)

    def _check_size(self, delivery: Delivery, message: Envelope) -> None:
        """Refuse a body over the limit, naming the record, its size and the limit (no data)."""
        limit = self._max_record_bytes
        size = len(delivery.body)
        if limit is None or size <= limit:
            return
        source = message.source
        raise RecordTooLarge(
            f"record {source.record_id} ({source.system} {source.record_type}) is {size:,}"
            f" bytes, over MAX_RECORD_BYTES {limit:,}"
        )

    def _bind(self, message: Envelope, attempt: int) -> None:
        # Each delivery runs in its own task, hence its own context copy: binding without the
        # reset of `bound_contextvars` is safe and cheaper on the hot path.
        structlog.contextvars.bind_contextvars(
            queue=self._queue.name,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            flow=message.flow,
            record_id=message.source.record_id,
            attempt=attempt,
        )

    async def _failed(
        self, delivery: Delivery, message: Envelope | None, exc: BaseException, attempt: int
    ) -> str:
        """Decide what a failure means for delivery; returns the outcome to count."""
        if message is not None:
            self._bind(message, attempt)
        if isinstance(exc, Superseded):
            log.info("superseded", reason=str(exc))
            return "superseded"
        if isinstance(exc, TargetUnavailable):
            # Not the message's fault: no attempt is counted, and consuming pauses.
            await self._retry(delivery, exc, attempt - 1)
            self.pause_for(exc.retry_after or self._queue.retry_delays[0])
            return "parked"
        if isinstance(exc, TransientError):
            if attempt >= self._max_attempts:
                await self._dead_letter(delivery, message, exc, attempt, gave_up=True)
                return "dead_lettered"
            await self._retry(delivery, exc, attempt)
            return "retried"
        if isinstance(exc, PartlyFailed) and exc.outputs:
            try:
                await self._publish_all(exc.outputs)
            except Exception as publish_error:
                return await self._failed(delivery, message, publish_error, attempt)
        if isinstance(exc, PermanentError):
            await self._dead_letter(delivery, message, exc, attempt)
            return "dead_lettered"
        frame = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
        # The class and place only: a bug's message may quote child data.
        log.error("handler_bug", error_class=type(exc).__name__, where=where)
        await self._dead_letter(delivery, message, exc, attempt, bug=True)
        return "dead_lettered"

    def _outgoing(self, message: Envelope) -> Outgoing:
        exchange, routing_key = self._topology.route(message)
        return to_outgoing(message, exchange, routing_key)

    async def _publish_all(self, outputs: Sequence[Envelope]) -> None:
        if not outputs:
            return
        messages = [self._outgoing(out) for out in outputs]
        if len(messages) == 1:  # the common case; gather would add a task per message
            await self._transport.publish(messages[0])
            return
        results = await asyncio.gather(
            *(self._transport.publish(m) for m in messages), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _retry(self, delivery: Delivery, exc: TransientError, attempt: int) -> None:
        if exc.retry_after is not None:
            retry_queue, delay = self._queue.retry_queue_for(exc.retry_after)
        else:
            retry_queue, delay = self._queue.retry_queue_for_attempt(attempt)
        headers = dict(delivery.headers)
        headers[h.ATTEMPTS] = attempt
        headers.setdefault(h.FIRST_FAILURE, _now())
        headers[h.LAST_ERROR_CLASS] = type(exc).__name__
        await self._transport.publish(_copy(delivery, "", retry_queue, headers))
        log.warning(
            "retry_scheduled",
            error_class=type(exc).__name__,
            reason=_short(str(exc)),
            delay_s=delay,
        )

    async def _dead_letter(
        self,
        delivery: Delivery,
        message: Envelope | None,
        exc: BaseException,
        attempt: int,
        *,
        gave_up: bool = False,
        bug: bool = False,
    ) -> None:
        now = _now()
        reason = _short(str(exc) if bug else _with_notes(exc))
        if gave_up:
            reason = f"gave up after {attempt} attempts: {reason}"
        if isinstance(exc, PartlyFailed) and exc.outputs:
            reason = _short(
                f"{exc} (its other {len(exc.outputs)} output(s) were published;"
                " a replay re-sends them under the same ids)"
            )
        headers: dict[str, Any] = dict(delivery.headers)
        # Identity travels in AMQP properties; copy it into headers so a DLQ listing needs no
        # body decoding and survives any tool that drops properties.
        for key, value in (
            (h.MESSAGE_ID, delivery.message_id),
            (h.CORRELATION_ID, delivery.correlation_id),
            (h.MESSAGE_TYPE, delivery.message_type),
        ):
            if value is not None:
                headers.setdefault(key, value)
        headers.update(
            {
                h.DEAD_QUEUE: self._queue.name,
                h.DEAD_STAGE: self._stage,
                h.DEAD_ERROR_CLASS: type(exc).__name__,
                h.DEAD_ERROR_MESSAGE: reason,
                h.DEAD_ATTEMPTS: attempt,
                h.DEAD_FIRST_FAILURE: str(delivery.headers.get(h.FIRST_FAILURE) or now),
                h.DEAD_LAST_FAILURE: now,
            }
        )
        if bug or not isinstance(exc, PermanentError | TransientError):
            headers[h.DEAD_TRACEBACK] = _short_traceback(exc)
        mapping_version = getattr(message, "mapping_version", None) or self._mapping_version
        if mapping_version and h.MAPPING_VERSION not in headers:
            headers[h.MAPPING_VERSION] = mapping_version
        if message is not None:
            headers.setdefault(h.FLOW, message.flow)
        await self._transport.publish(_copy(delivery, "", self._queue.dlq, headers))
        if isinstance(exc, PermanentError) and not bug:
            log.warning("dead_lettered", error_class=type(exc).__name__, reason=reason)
        else:
            log.error("dead_lettered", error_class=type(exc).__name__)


def _empty_outcome(message: Envelope, result: Sequence[Envelope] | None) -> str:
    """`skipped_<reason>` (logged with the record id) for a `Skipped`, else `handled`."""
    if not isinstance(result, Skipped):
        return "handled"
    log.info(
        "skipped",
        outcome=result.outcome,
        detail=result.detail,
        message_id=message.message_id,
        flow=message.flow,
        record_id=message.source.record_id,
    )
    return result.outcome


def _copy(delivery: Delivery, exchange: str, routing_key: str, headers: dict[str, Any]) -> Outgoing:
    return Outgoing(
        exchange=exchange,
        routing_key=routing_key,
        body=delivery.body,
        headers=headers,
        message_id=delivery.message_id,
        correlation_id=delivery.correlation_id,
        message_type=delivery.message_type,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _with_notes(exc: BaseException) -> str:
    """The error's text and the notes (PEP 678) that whoever passed it on added: the next step
    an admin needs (e.g. a loader's "replay with --resend")."""
    notes = [str(n) for n in getattr(exc, "__notes__", ())]
    return "; ".join([str(exc), *notes])


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_traceback(exc: BaseException) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-5)
    return _short("".join(lines), 2000)
