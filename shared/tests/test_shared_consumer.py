"""The consumer wrapper over the in-process transport: every delivery decision, for plain
(sync, callback fast path) and coroutine (async, task path) handlers alike."""

from __future__ import annotations

import asyncio
import base64
import inspect
import itertools
import time
from collections.abc import Callable, Sequence

import orjson
import pytest
from structlog.testing import capture_logs

from casebridge import headers as h
from casebridge.consumer import Handler
from casebridge.errors import (
    PartlyFailed,
    PermanentError,
    Superseded,
    TargetUnavailable,
    TransientError,
)
from casebridge.messages import DeadLetter, Envelope, MessageRegistry, UpsertCommand
from casebridge.skips import Skipped, SkipReason
from casebridge.testing.builders import a_raw_record, an_upsert_command
from casebridge.transport import Outgoing

from .conftest import SINK, TRANSFORMER, Bus, wait_for

Plain = Callable[[Envelope], Sequence[Envelope] | None]


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Every test runs with a plain handler and with a coroutine handler."""
    return str(request.param)


def handler_of(kind: str, fn: Plain) -> Handler:
    """`fn` as the kind of handler under test."""
    if kind == "sync":
        return fn

    async def handler(message: Envelope) -> Sequence[Envelope] | None:
        await asyncio.sleep(0)  # a real suspension point, as I/O would have
        return fn(message)

    assert inspect.iscoroutinefunction(handler)
    return handler


def _retry_tiers_used(bus: Bus) -> list[str]:
    """Record the queue of every retry the consumer publishes (a tier is named by its delay)."""
    tiers: list[str] = []
    real_publish = bus.transport.publish

    async def publish(message: Outgoing) -> None:
        if ".retry." in message.routing_key:
            tiers.append(message.routing_key.rpartition(".")[2])
        await real_publish(message)

    bus.transport.publish = publish  # type: ignore[method-assign]
    return tiers


def _dead_letters(bus: Bus, queue: str = TRANSFORMER) -> list[DeadLetter]:
    return [DeadLetter.from_message(m.body, m.headers) for m in bus.drain(f"{queue}.dlq")]


async def test_success_publishes_the_outputs_then_acks_the_input(bus, kind):
    def transform(message: Envelope) -> list[Envelope]:
        return [
            an_upsert_command(message, target="sink", key={"n": "1"}),
            an_upsert_command(message, target="sink", key={"n": "2"}),
        ]

    consumer = bus.consumer(TRANSFORMER, handler_of(kind, transform))
    await consumer.start()
    raw = a_raw_record({"n": 1})
    await bus.publisher.publish(raw)
    await wait_for(lambda: bus.count("handled") == 1)

    commands = [default_decode(m.body) for m in bus.drain(SINK)]
    assert [c.key for c in commands] == [{"n": "1"}, {"n": "2"}]
    assert all(c.causation_id == raw.message_id for c in commands)
    assert all(c.correlation_id == raw.correlation_id for c in commands)
    assert bus.depth(TRANSFORMER) == 0
    assert bus.unacked(TRANSFORMER) == 0, "acked"
    assert consumer.in_flight == 0
    assert bus.counts() == {"handled": 1}
    assert bus.depth(f"{TRANSFORMER}.dlq") == 0


async def test_a_handler_that_returns_nothing_is_acked(bus, kind):
    seen: list[Envelope] = []
    consumer = bus.consumer(TRANSFORMER, handler_of(kind, seen.append))  # returns None
    await consumer.start()
    await bus.publisher.publish_many([a_raw_record(), a_raw_record()])
    await wait_for(lambda: bus.count("handled") == 2)
    assert len(seen) == 2
    assert bus.unacked(TRANSFORMER) == 0
    assert bus.counts() == {"handled": 2}


async def test_a_transient_error_is_retried_through_the_tiers_then_succeeds(bus, kind):
    calls: list[float] = []

    def flaky(message: Envelope) -> None:
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise TransientError("OSCaR answered 503")

    tiers = _retry_tiers_used(bus)
    consumer = bus.consumer(TRANSFORMER, handler_of(kind, flaky))
    await consumer.start()
    await bus.publisher.publish(a_raw_record())
    await wait_for(lambda: bus.count("handled") == 1)

    assert len(calls) == 4
    assert tiers == ["50ms", "100ms", "200ms"], "each retry waits in the next tier"
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= 0.045
    assert gaps[1] >= 0.095
    assert gaps[2] >= 0.195
    assert bus.counts() == {"retried": 3, "handled": 1}
    assert bus.depth(f"{TRANSFORMER}.dlq") == 0


async def test_a_retry_carries_the_attempt_count_and_first_failure_in_headers(bus, kind):
    def down(message: Envelope) -> None:
        raise TransientError("503")

    consumer = bus.consumer(TRANSFORMER, handler_of(kind, down), max_attempts=8)
    await consumer.start()
    raw = a_raw_record()
    await bus.publisher.publish(raw)
    await wait_for(lambda: bus.depth(f"{TRANSFORMER}.retry.50ms") == 1)
    await consumer.stop()
    [waiting] = bus.drain(f"{TRANSFORMER}.retry.50ms")
    assert waiting.headers[h.ATTEMPTS] == 1
    assert waiting.headers[h.LAST_ERROR_CLASS] == "TransientError"
    assert h.FIRST_FAILURE in waiting.headers
    assert waiting.body == MessageRegistry.encode(raw)
    assert waiting.message_id == raw.message_id


async def test_retry_after_given_by_the_handler_is_honoured(bus, kind):
    calls: list[float] = []

    def rate_limited(message: Envelope) -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise TransientError("429 Too Many Requests", retry_after=0.15)

    tiers = _retry_tiers_used(bus)
    consumer = bus.consumer(TRANSFORMER, handler_of(kind, rate_limited))
    await consumer.start()
    await bus.publisher.publish(a_raw_record())
    await wait_for(lambda: len(calls) == 2)
    await wait_for(lambda: bus.count("handled") == 1)
    # The first tier is 50 ms; Retry-After 0.15 s picks the 200 ms tier instead.
    assert tiers == ["200ms"]
    assert calls[1] - calls[0] >= 0.195
    assert bus.counts() == {"retried": 1, "handled": 1}


async def test_exhausted_retries_reach_the_dlq_with_their_attempts(bus, kind):
    calls = 0

    def always_down(message: Envelope) -> None:
        nonlocal calls
        calls += 1
        raise TransientError("OSCaR answered 503")

    consumer = bus.consumer(TRANSFORMER, handler_of(kind, always_down), max_attempts=3)
    await consumer.start()
    raw = a_raw_record()
    await bus.publisher.publish(raw)
    await wait_for(lambda: bus.count("dead_lettered") == 1)

    [dead] = _dead_letters(bus)
    assert calls == 3
    assert dead.attempts == 3
    assert dead.error_class == "TransientError"
    assert dead.error_message == "gave up after 3 attempts: OSCaR answered 503"
    assert dead.first_failure_at is not None
    assert dead.last_failure_at is not None
    assert dead.first_failure_at < dead.last_failure_at
    assert dead.traceback is None
    assert dead.body == MessageRegistry.encode(raw)
    assert bus.counts() == {"retried": 2, "dead_lettered": 1}


async def test_a_permanent_error_is_dead_lettered_at_once_with_reason_and_original_body(bus, kind):
    calls = 0

    def unmappable(message: Envelope) -> None:
        nonlocal calls
        calls += 1
        raise PermanentError("no Primero province user for province code 19")

    consumer = bus.consumer(
        TRANSFORMER, handler_of(kind, unmappable), mapping_version="cambodia-2026.11"
    )
    await consumer.start()
    raw = a_raw_record({"case_id": "c-1"})
    await bus.publisher.publish(raw)
    await wait_for(lambda: bus.count("dead_lettered") == 1)

    [dead_message] = bus.drain(f"{TRANSFORMER}.dlq")
    assert calls == 1, "a permanent failure is not retried"
    assert dead_message.body == MessageRegistry.encode(raw), "original body intact"
    assert dead_message.message_id == raw.message_id
    headers = dead_message.headers
    assert headers[h.MESSAGE_ID] == raw.message_id, "identity copied into headers"
    assert headers[h.CORRELATION_ID] == raw.correlation_id
    assert headers[h.MESSAGE_TYPE] == "raw-record"
    assert headers[h.FLOW] == "c1"
    assert headers[h.DEAD_QUEUE] == TRANSFORMER
    assert headers[h.DEAD_STAGE] == "tests"
    assert headers[h.DEAD_ERROR_CLASS] == "PermanentError"
    assert headers[h.DEAD_ERROR_MESSAGE] == "no Primero province user for province code 19"
    assert headers[h.DEAD_ATTEMPTS] == 1
    assert h.DEAD_TRACEBACK not in headers
    dead = DeadLetter.from_message(dead_message.body, headers)
    assert dead.mapping_version == "cambodia-2026.11"
    assert dead.first_failure_at == dead.last_failure_at
    assert base64.b64decode(dead.body_b64) == dead_message.body
    assert bus.depth(TRANSFORMER) == 0
    assert bus.unacked(TRANSFORMER) == 0
    assert bus.counts() == {"dead_lettered": 1}


async def test_a_command_s_own_mapping_version_wins_over_the_consumer_s(bus, kind):
    def unmappable(message: Envelope) -> None:
        raise PermanentError("gap")

    consumer = bus.consumer(SINK, handler_of(kind, unmappable), mapping_version="consumer-v")
    await consumer.start()
    await bus.publisher.publish(an_upsert_command(target="sink", mapping_version="command-v"))
    await wait_for(lambda: bus.count("dead_lettered", SINK) == 1)
    [dead] = _dead_letters(bus, SINK)
    assert dead.mapping_version == "command-v"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe not json", "body is not JSON"),
        (b'{"type": "raw-record", "schema_version": 1}', "invalid raw-record"),
        (b'{"type": "mystery", "schema_version": 1}', "unknown message type"),
    ],
)
async def test_an_undecodable_body_is_dead_lettered_without_calling_the_handler(
    bus, kind, body, reason
):
    handled: list[Envelope] = []
    consumer = bus.consumer(TRANSFORMER, handler_of(kind, handled.append))
    await consumer.start()
    await bus.transport.publish(
        Outgoing(bus.topology.raw_exchange, "c1.primero", body, headers={"x-sender": "someone"})
    )
    await wait_for(lambda: bus.count("dead_lettered") == 1)
    [dead] = bus.drain(f"{TRANSFORMER}.dlq")
    assert handled == []
    assert dead.body == body
    assert dead.headers["x-sender"] == "someone"
    assert dead.headers[h.DEAD_ERROR_CLASS] == "InvalidMessage"
    assert reason in dead.headers[h.DEAD_ERROR_MESSAGE]
    assert h.FLOW not in dead.headers
    assert bus.counts() == {"dead_lettered": 1}


async def test_a_handler_bug_is_dead_lettered_with_a_traceback(bus, kind):
    def buggy(message: Envelope) -> None:
        _ = message.payload["missing"]  # type: ignore[attr-defined]

    consumer = bus.consumer(TRANSFORMER, handler_of(kind, buggy))
    await consumer.start()
    await bus.publisher.publish(a_raw_record())
    await wait_for(lambda: bus.count("dead_lettered") == 1)
    [dead] = bus.drain(f"{TRANSFORMER}.dlq")
    assert dead.headers[h.DEAD_ERROR_CLASS] == "KeyError"
    assert dead.headers[h.DEAD_ERROR_MESSAGE] == "'missing'"
    assert "Traceback" in dead.headers[h.DEAD_TRACEBACK]
    assert "buggy" in dead.headers[h.DEAD_TRACEBACK]
    assert len(dead.headers[h.DEAD_TRACEBACK]) <= 2000
    assert bus.counts() == {"dead_lettered": 1}


async def test_superseded_is_acked_and_counted_and_nothing_is_dead_lettered(bus, kind):
    def stale(message: Envelope) -> None:
        raise Superseded("OSCaR holds a newer version")

    consumer = bus.consumer(SINK, handler_of(kind, stale))
    await consumer.start()
    await bus.publisher.publish(an_upsert_command(target="sink"))
    await wait_for(lambda: bus.count("superseded", SINK) == 1)
    await asyncio.sleep(0.08)  # time for a wrong retry to show up
    assert bus.counts(SINK) == {"superseded": 1}
    assert bus.depth(f"{SINK}.dlq") == 0
    assert bus.depth(SINK) == 0
    assert bus.unacked(SINK) == 0
    assert all(bus.depth(f"{SINK}.retry.{t}") == 0 for t in ("50ms", "100ms", "200ms"))


async def test_an_output_that_cannot_be_routed_dead_letters_the_input(bus, kind):
    def to_nowhere(message: Envelope) -> list[Envelope]:
        return [
            an_upsert_command(message, target="sink"),
            an_upsert_command(message, target="nowhere"),
        ]

    consumer = bus.consumer(TRANSFORMER, handler_of(kind, to_nowhere))
    await consumer.start()
    raw = a_raw_record()
    await bus.publisher.publish(raw)
    await wait_for(lambda: bus.count("dead_lettered") == 1)
    [dead] = _dead_letters(bus)
    assert dead.error_class == "Unroutable"
    assert "nowhere" in dead.error_message
    assert dead.body == MessageRegistry.encode(raw)
    assert dead.attempts == 1
    assert bus.counts() == {"dead_lettered": 1}
    assert bus.unacked(TRANSFORMER) == 0


async def test_a_partly_failed_message_publishes_its_good_outputs_then_is_dead_lettered(bus, kind):
    def half_good(message: Envelope) -> None:
        good = [
            an_upsert_command(message, target="sink", key={"n": "1"}),
            an_upsert_command(message, target="sink", key={"n": "2"}),
        ]
        raise PartlyFailed("case c-1 has OSCaR decisions but no oscar_number", outputs=good)

    consumer = bus.consumer(TRANSFORMER, handler_of(kind, half_good))
    await consumer.start()
    raw = a_raw_record({"case_id": "c-1"})
    await bus.publisher.publish(raw)
    await wait_for(lambda: bus.count("dead_lettered") == 1)

    commands = [default_decode(m.body) for m in bus.drain(SINK)]
    assert [c.key for c in commands] == [{"n": "1"}, {"n": "2"}]
    [dead] = _dead_letters(bus)
    assert dead.error_class == "PartlyFailed"
    assert dead.error_message == (
        "case c-1 has OSCaR decisions but no oscar_number (its other 2 output(s) were"
        " published; a replay re-sends them under the same ids)"
    )
    assert dead.body == MessageRegistry.encode(raw), "the whole record waits for a replay"
    assert bus.counts() == {"dead_lettered": 1}
    assert bus.unacked(TRANSFORMER) == 0


async def test_a_partly_failed_message_whose_outputs_cannot_be_routed_is_dead_lettered_for_that(
    bus, kind
):
    def half_good(message: Envelope) -> None:
        nowhere = [an_upsert_command(message, target="nowhere")]
        raise PartlyFailed("one part is bad", outputs=nowhere)

    consumer = bus.consumer(TRANSFORMER, handler_of(kind, half_good))
    await consumer.start()
    await bus.publisher.publish(a_raw_record())
    await wait_for(lambda: bus.count("dead_lettered") == 1)
    [dead] = _dead_letters(bus)
    assert dead.error_class == "Unroutable", "the publish failure decides, not the part"
    assert "nowhere" in dead.error_message
    assert bus.counts() == {"dead_lettered": 1}


async def test_target_unavailable_parks_without_counting_an_attempt_and_pauses_consuming(bus, kind):
    calls: list[tuple[float, str]] = []

    def handler(message: Envelope) -> None:
        name = message.key["n"]  # type: ignore[attr-defined]
        calls.append((time.monotonic(), name))
        tries = [n for _, n in calls].count(name)
        if name == "first" and tries == 1:
            raise TargetUnavailable("OSCaR circuit open", retry_after=0.1)
        if name == "first" and tries == 2:
            raise TransientError("503")

    tiers = _retry_tiers_used(bus)
    # Two attempts allowed: had parking counted one, the 503 would dead-letter the command.
    consumer = bus.consumer(SINK, handler_of(kind, handler), max_attempts=2)
    await consumer.start()
    await bus.publisher.publish(an_upsert_command(target="sink", key={"n": "first"}))
    await wait_for(lambda: bus.count("parked", SINK) == 1)
    await asyncio.sleep(0.01)
    await bus.publisher.publish(an_upsert_command(target="sink", key={"n": "second"}))
    await asyncio.sleep(0.03)
    assert [n for _, n in calls] == ["first"], "nothing is taken while paused"
    await wait_for(lambda: bus.count("handled", SINK) == 2)

    assert tiers[0] == "100ms", "parked in the tier covering retry_after"
    resumed_at = next(t for t, n in calls if n == "second")
    assert resumed_at - calls[0][0] >= 0.095, "paused for retry_after"
    assert [n for _, n in calls].count("first") == 3
    assert bus.counts(SINK) == {"parked": 1, "retried": 1, "handled": 2}
    assert bus.depth(f"{SINK}.dlq") == 0


async def test_stop_finishes_in_flight_async_handlers_within_the_grace_period(bus):
    done: list[str] = []

    async def slow(message: Envelope) -> None:
        await asyncio.sleep(0.1)
        done.append(message.message_id)

    # A generous grace: the test takes 0.1 s unless the machine stalls.
    consumer = bus.consumer(SINK, slow, grace_s=10)
    await consumer.start()
    command = an_upsert_command(target="sink")
    await bus.publisher.publish(command)
    await wait_for(lambda: consumer.in_flight == 1)
    await consumer.stop()
    assert done == [command.message_id]
    assert consumer.in_flight == 0
    assert bus.counts(SINK) == {"handled": 1}
    assert bus.depth(SINK) == 0
    assert bus.unacked(SINK) == 0


async def test_stop_returns_handlers_that_outlive_the_grace_period_to_the_queue(bus):
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def stuck(message: Envelope) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    consumer = bus.consumer(SINK, stuck, grace_s=0.05)
    await consumer.start()
    command = an_upsert_command(target="sink")
    await bus.publisher.publish(command)
    await asyncio.wait_for(started.wait(), 2)
    began = time.monotonic()
    await consumer.stop()
    assert time.monotonic() - began < 5.0, "stop is bounded by the grace period, not the handler"
    assert cancelled == [True]
    assert bus.counts(SINK) == {"requeued": 1}
    [back] = bus.drain(SINK)
    assert back.message_id == command.message_id, "the message is back in the queue"
    assert back.redelivered
    assert bus.depth(f"{SINK}.dlq") == 0


async def test_messages_not_yet_delivered_stay_in_the_queue_after_stop(bus, kind):
    seen: list[Envelope] = []
    consumer = bus.consumer(SINK, handler_of(kind, seen.append), prefetch=1)
    await consumer.start()
    await consumer.stop()
    await bus.publisher.publish(an_upsert_command(target="sink"))
    await asyncio.sleep(0.02)
    assert seen == []
    assert bus.depth(SINK) == 1


async def test_prefetch_bounds_the_deliveries_in_flight(bus):
    release = asyncio.Event()
    most = 0

    async def blocked(message: Envelope) -> None:
        nonlocal most
        most = max(most, consumer.in_flight)
        await release.wait()

    consumer = bus.consumer(SINK, blocked, prefetch=3)
    await consumer.start()
    await bus.publisher.publish_many(
        [an_upsert_command(target="sink", key={"n": str(i)}) for i in range(10)]
    )
    await wait_for(lambda: consumer.in_flight == 3)
    await asyncio.sleep(0.02)
    assert consumer.in_flight == 3
    assert bus.depth(SINK) == 7
    release.set()
    await wait_for(lambda: bus.count("handled", SINK) == 10)
    assert most <= 3


async def test_a_failure_to_record_a_failure_requeues_and_the_delivery_limit_ends_the_loop(
    bus, kind
):
    """With the DLQ unreachable, the message goes back untouched; the broker's delivery limit
    (2 here) then dead-letters it after the third delivery, so a poison message cannot spin."""
    real_publish = bus.transport.publish
    calls = 0

    async def publish(message: Outgoing) -> None:
        if message.routing_key.endswith(".dlq"):
            raise PermanentError("DLQ publish refused")
        await real_publish(message)

    bus.transport.publish = publish  # type: ignore[method-assign]

    def unmappable(message: Envelope) -> None:
        nonlocal calls
        calls += 1
        raise PermanentError("gap")

    consumer = bus.consumer(TRANSFORMER, handler_of(kind, unmappable))
    await consumer.start()
    raw = a_raw_record()
    await bus.publisher.publish(raw)
    await wait_for(lambda: bus.depth(f"{TRANSFORMER}.dlq") == 1)
    assert calls == 3
    assert bus.counts() == {"requeued": 3}
    [dead] = _dead_letters(bus)
    assert dead.error_class == "DeliveryLimitExceeded"
    assert dead.stage == "broker"
    assert dead.queue == TRANSFORMER
    assert dead.body == MessageRegistry.encode(raw)


async def test_outcomes_are_counted_per_queue_and_latency_is_observed(bus, kind):
    def ok(message: Envelope) -> None:
        return None

    consumer = bus.consumer(SINK, handler_of(kind, ok))
    await consumer.start()
    await bus.publisher.publish(an_upsert_command(target="sink"))
    await wait_for(lambda: bus.count("handled", SINK) == 1)
    assert bus.count("handled", TRANSFORMER) == 0
    observed = bus.registry.get_sample_value("casebridge_handler_seconds_count", {"queue": SINK})
    assert observed == 1


def default_decode(body: bytes) -> UpsertCommand:
    data = orjson.loads(body)
    assert data["type"] == "upsert-command"
    return UpsertCommand.model_validate(data)


async def test_a_skipped_result_is_acked_and_counted_with_its_reason(bus, kind):
    def nothing_to_do(message: Envelope) -> Sequence[Envelope]:
        return Skipped(SkipReason.NOT_APPLICABLE, f"record {message.source.record_id} is unlinked")

    consumer = bus.consumer(TRANSFORMER, handler_of(kind, nothing_to_do))
    await consumer.start()
    raw = a_raw_record(record_id="rec-7")
    with capture_logs() as logs:
        await bus.publisher.publish(raw)
        await wait_for(lambda: bus.count("skipped_not_applicable") == 1)
    assert bus.counts() == {"skipped_not_applicable": 1}, "not counted as handled"
    assert bus.unacked(TRANSFORMER) == 0
    assert bus.depth(f"{TRANSFORMER}.dlq") == 0
    [skipped] = [e for e in logs if e["event"] == "skipped"]
    assert skipped["outcome"] == "skipped_not_applicable"
    assert skipped["record_id"] == "rec-7"
    assert skipped["message_id"] == raw.message_id
    assert skipped["detail"] == "record rec-7 is unlinked"


async def test_a_body_over_max_record_bytes_is_dead_lettered_with_its_size_and_the_limit(bus, kind):
    handled: list[Envelope] = []
    consumer = bus.consumer(TRANSFORMER, handler_of(kind, handled.append), max_record_bytes=2048)
    await consumer.start()
    small = a_raw_record({"name": "x" * 100}, record_id="small")
    big = a_raw_record({"name": "x" * 4000}, record_id="123")
    size = len(MessageRegistry.encode(big))
    await bus.publisher.publish_many([small, big])
    await wait_for(lambda: bus.count("dead_lettered") == 1 and bus.count("handled") == 1)

    assert [m.source.record_id for m in handled] == ["small"], "the handler never saw it"
    [dead] = _dead_letters(bus)
    assert dead.error_class == "RecordTooLarge"
    assert dead.error_message == (
        f"record 123 (primero case) is {size:,} bytes, over MAX_RECORD_BYTES 2,048"
    )
    assert "xxxx" not in dead.error_message
    assert dead.body == MessageRegistry.encode(big), "kept byte for byte for a replay"
