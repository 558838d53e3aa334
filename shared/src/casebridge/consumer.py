"""The consumer wrapper: the only code that decides ack, retry or dead letter.

decode -> validate -> bind log context -> call a plain handler -> publish its outputs (confirmed)
-> ack. Handlers know nothing about AMQP; they return messages to publish, or raise.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from casebridge import headers as h
from casebridge.errors import InvalidMessage, PermanentError, Superseded, TransientError
from casebridge.messages import Envelope, MessageRegistry
from casebridge.metrics import ConsumerMetrics
from casebridge.publishing import to_outgoing
from casebridge.topology import Topology, WorkQueue
from casebridge.transport import ConsumerHandle, Delivery, Outgoing, Transport

log = structlog.get_logger(__name__)

#: A handler takes one validated message and returns the messages it produces (may be none).
Handler = Callable[[Envelope], Awaitable[Sequence[Envelope] | None]]


class Consumer:
    """Consumes one work queue with a handler, owning every delivery decision.

    - success -> outputs published with confirms, then the input is acked (batched);
    - `Superseded` -> acked and counted (the target already holds newer data);
    - `TransientError` -> re-published to the next retry tier (or the tier that covers the
      handler's `retry_after`), attempt count in headers; dead-lettered once `max_attempts` is
      reached;
    - `PermanentError` / `InvalidMessage` / undecodable -> dead-lettered at once;
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
    ) -> None:
        self._transport = transport
        self._topology = topology
        self._queue: WorkQueue = topology.work_queue(queue)
        self._handler = handler
        self._registry = registry
        self._stage = stage
        self._prefetch = prefetch
        self._max_attempts = max_attempts
        self._grace_s = grace_s
        self._mapping_version = mapping_version
        self._metrics = metrics or ConsumerMetrics.default()
        self._handle: ConsumerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        """Deliveries being handled right now."""
        return len(self._tasks)

    async def start(self) -> None:
        """Subscribe to the work queue."""
        self._handle = await self._transport.consume(
            self._queue.name, self._on_delivery, prefetch=self._prefetch
        )
        log.info("consumer_started", queue=self._queue.name, prefetch=self._prefetch)

    async def stop(self) -> None:
        """Stop consuming; finish or return in-flight messages; flush acks."""
        if self._handle is not None:
            await self._handle.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=self._grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        if self._handle is not None:
            await self._handle.flush()
        log.info("consumer_stopped", queue=self._queue.name)

    def _on_delivery(self, delivery: Delivery) -> None:
        task = asyncio.get_running_loop().create_task(self._process(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, delivery: Delivery) -> None:
        attempt = int(delivery.headers.get(h.ATTEMPTS) or 0) + 1
        started = time.perf_counter()
        queue = self._queue.name
        try:
            try:
                message = self._registry.decode(delivery.body)
            except InvalidMessage as exc:
                await self._dead_letter(delivery, exc, attempt)
                outcome = "dead_lettered"
            else:
                with structlog.contextvars.bound_contextvars(
                    queue=queue,
                    message_id=message.message_id,
                    correlation_id=message.correlation_id,
                    message_type=message.message_type,
                    flow=message.flow,
                    record_id=message.source.record_id,
                    attempt=attempt,
                ):
                    outcome = await self._handle_message(delivery, message, attempt)
        except asyncio.CancelledError:
            delivery.requeue()
            self._metrics.count(queue, "requeued")
            raise
        except Exception as exc:
            # Recording the failure failed (typically the broker is gone): hand the message
            # back untouched; it is redelivered and nothing is lost.
            log.warning("settle_failed_requeued", queue=queue, error_class=type(exc).__name__)
            delivery.requeue()
            self._metrics.count(queue, "requeued")
            return
        delivery.ack()
        self._metrics.count(queue, outcome)
        self._metrics.observe(queue, time.perf_counter() - started)

    async def _handle_message(self, delivery: Delivery, message: Envelope, attempt: int) -> str:
        try:
            outputs = await self._handler(message) or ()
            await self._publish_all(outputs)
        except Superseded as exc:
            log.info("superseded", reason=str(exc))
            return "superseded"
        except TransientError as exc:
            if attempt >= self._max_attempts:
                await self._dead_letter(delivery, exc, attempt, gave_up=True)
                return "dead_lettered"
            await self._retry(delivery, exc, attempt)
            return "retried"
        except PermanentError as exc:
            await self._dead_letter(delivery, exc, attempt)
            return "dead_lettered"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1:]
            where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
            # The class and place only: a bug's message may quote child data.
            log.error("handler_bug", error_class=type(exc).__name__, where=where)
            await self._dead_letter(delivery, exc, attempt, bug=True)
            return "dead_lettered"
        return "handled"

    async def _publish_all(self, outputs: Sequence[Envelope]) -> None:
        if not outputs:
            return
        messages = []
        for out in outputs:
            exchange, routing_key = self._topology.route(out)
            messages.append(to_outgoing(out, exchange, routing_key))
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
        exc: BaseException,
        attempt: int,
        *,
        gave_up: bool = False,
        bug: bool = False,
    ) -> None:
        now = _now()
        reason = _short(str(exc))
        if gave_up:
            reason = f"gave up after {attempt} attempts: {reason}"
        headers: dict[str, Any] = dict(delivery.headers)
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
        if self._mapping_version and h.MAPPING_VERSION not in headers:
            headers[h.MAPPING_VERSION] = self._mapping_version
        await self._transport.publish(_copy(delivery, "", self._queue.dlq, headers))
        if isinstance(exc, PermanentError) and not bug:
            log.warning("dead_lettered", error_class=type(exc).__name__, reason=reason)
        else:
            log.error("dead_lettered", error_class=type(exc).__name__)


def _copy(delivery: Delivery, exchange: str, routing_key: str, headers: dict[str, Any]) -> Outgoing:
    return Outgoing(
        exchange=exchange,
        routing_key=routing_key,
        body=delivery.body,
        headers=headers,
        message_id=_str_or_none(delivery.headers.get(h.MESSAGE_ID)),
        correlation_id=_str_or_none(delivery.headers.get(h.CORRELATION_ID)),
        message_type=_str_or_none(delivery.headers.get(h.MESSAGE_TYPE)),
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_traceback(exc: BaseException) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-5)
    return _short("".join(lines), 2000)
