"""Delivery semantics on the real RabbitMQ: hops, retries, dead letters, kills, drains, confirms."""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from casebridge import headers as h
from casebridge.amqp import AmqpTransport
from casebridge.consumer import Consumer, Handler
from casebridge.errors import (
    BrokerUnavailable,
    PermanentError,
    PublishNotConfirmed,
    TargetUnavailable,
    TransientError,
    Unroutable,
)
from casebridge.messages import DeadLetter, Envelope, MessageRegistry, default_registry
from casebridge.publishing import MessagePublisher
from casebridge.testing.amqp_probe import AmqpProbe
from casebridge.testing.builders import a_raw_record, an_upsert_command
from casebridge.testing.private_rabbitmq import PrivateRabbitMQ
from casebridge.topology import Topology, loader_queue, transformer_queue
from casebridge.transport import Outgoing

pytestmark = pytest.mark.integration

WORKER = Path(__file__).with_name("bus_worker.py")


def _consumer(
    transport: AmqpTransport,
    topology: Topology,
    queue: str,
    handler: Handler,
    **kwargs: object,
) -> Consumer:
    return Consumer(
        transport=transport,
        topology=topology,
        queue=queue,
        handler=handler,
        registry=default_registry(),
        stage="tests",
        **kwargs,  # type: ignore[arg-type]
    )


async def _wait_for(predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def _prefix(topology: Topology) -> str:
    return topology.raw_exchange.removesuffix(".raw")


@pytest.mark.parametrize("plain_handler", [True, False], ids=["plain", "coroutine"])
async def test_a_record_flows_through_two_hops(transport, topology, probe, plain_handler):
    prefix = _prefix(topology)
    loaded: list[Envelope] = []

    def transform(message: Envelope) -> list[Envelope]:
        return [an_upsert_command(message, target="sink", payload={"n": message.payload["n"]})]

    async def transform_async(message: Envelope) -> list[Envelope]:
        return transform(message)

    async def load(message: Envelope) -> None:
        loaded.append(message)

    hop1 = _consumer(
        transport,
        topology,
        transformer_queue(prefix),
        transform if plain_handler else transform_async,
    )
    hop2 = _consumer(transport, topology, loader_queue(prefix, "sink"), load)
    await hop1.start()
    await hop2.start()
    raws = [a_raw_record({"n": i}) for i in range(200)]
    await MessagePublisher(transport, topology).publish_many(raws)

    await _wait_for(lambda: len(loaded) >= 200)
    await hop1.stop()
    await hop2.stop()

    assert sorted(m.payload["n"] for m in loaded) == list(range(200))
    by_cause = {m.causation_id: m for m in loaded}
    for raw in raws:
        command = by_cause[raw.message_id]
        assert command.correlation_id == raw.correlation_id
        assert command.source == raw.source
    await asyncio.sleep(0.2)
    for queue in (transformer_queue(prefix), loader_queue(prefix, "sink")):
        assert probe.depth(queue) == 0
        assert probe.depth(f"{queue}.dlq") == 0


async def test_transient_failure_is_retried_with_growing_delays_then_succeeds(
    transport, topology, probe
):
    prefix = _prefix(topology)
    calls: list[float] = []

    async def flaky(message: Envelope) -> None:
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise TransientError("OSCaR answered 503")

    consumer = _consumer(transport, topology, transformer_queue(prefix), flaky)
    await consumer.start()
    await MessagePublisher(transport, topology).publish(a_raw_record())
    await _wait_for(lambda: len(calls) >= 4)
    await asyncio.sleep(1.5)  # time enough for a wrong fifth attempt to show up
    await consumer.stop()

    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert len(calls) == 4, "handled once after three transient failures"
    # The tiers are 0.3 s, 0.6 s, 1.2 s: each wait is at least its tier and longer than the last.
    assert gaps[0] >= 0.28
    assert gaps[1] >= 0.58
    assert gaps[2] >= 1.15
    assert gaps[0] < gaps[1] < gaps[2]
    assert probe.depth(f"{transformer_queue(prefix)}.dlq") == 0


async def test_retry_after_given_by_the_handler_is_honoured(transport, topology, probe):
    prefix = _prefix(topology)
    calls: list[float] = []

    async def rate_limited(message: Envelope) -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise TransientError("429 Too Many Requests", retry_after=1.0)

    consumer = _consumer(transport, topology, transformer_queue(prefix), rate_limited)
    await consumer.start()
    await MessagePublisher(transport, topology).publish(a_raw_record())
    await _wait_for(lambda: len(calls) >= 2)
    await consumer.stop()
    # First retry tier is 0.3 s; Retry-After 1.0 s picks the 1.2 s tier instead.
    assert calls[1] - calls[0] >= 1.0


async def test_a_target_down_parks_messages_without_counting_attempts_and_pauses(
    transport, topology, probe
):
    prefix = _prefix(topology)
    calls: list[tuple[float, int]] = []

    async def target_down_twice(message: Envelope) -> None:
        calls.append((time.monotonic(), len(calls)))
        if len(calls) <= 2:
            raise TargetUnavailable("OSCaR circuit open", retry_after=0.6)

    consumer = _consumer(
        transport, topology, loader_queue(prefix, "sink"), target_down_twice, max_attempts=2
    )
    await consumer.start()
    await MessagePublisher(transport, topology).publish(an_upsert_command(target="sink"))
    await _wait_for(lambda: len(calls) >= 3)
    await consumer.stop()
    # Two parks did not exhaust max_attempts=2: parking is not an attempt.
    assert len(calls) == 3
    assert calls[1][0] - calls[0][0] >= 0.55
    assert probe.depth(f"{loader_queue(prefix, 'sink')}.dlq") == 0


@pytest.mark.parametrize("plain_handler", [True, False], ids=["plain", "coroutine"])
async def test_permanent_failure_reaches_the_dlq_with_reason_and_original_body(
    transport, topology, probe, plain_handler
):
    prefix = _prefix(topology)
    queue = transformer_queue(prefix)
    calls = 0

    def unmappable(message: Envelope) -> None:
        nonlocal calls
        calls += 1
        raise PermanentError("no Primero province user for province code 19")

    async def unmappable_async(message: Envelope) -> None:
        unmappable(message)

    handler = unmappable if plain_handler else unmappable_async
    consumer = _consumer(transport, topology, queue, handler, mapping_version="cambodia-2026.11")
    await consumer.start()
    raw = a_raw_record({"case_id": "c-1"})
    await MessagePublisher(transport, topology).publish(raw)
    assert await asyncio.to_thread(probe.wait_depth, f"{queue}.dlq", 1) == 1
    await consumer.stop()

    [dead] = probe.drain(f"{queue}.dlq")
    assert calls == 1, "a permanent failure is not retried"
    assert dead.body == MessageRegistry.encode(raw), "original body intact"
    assert dead.headers[h.MESSAGE_ID] == raw.message_id, "original headers intact"
    assert dead.headers[h.CORRELATION_ID] == raw.correlation_id
    record = DeadLetter.from_message(dead.body, dead.headers)
    assert record.queue == queue
    assert record.stage == "tests"
    assert record.error_class == "PermanentError"
    assert record.error_message == "no Primero province user for province code 19"
    assert record.attempts == 1
    assert record.first_failure_at is not None
    assert record.last_failure_at is not None
    assert record.mapping_version == "cambodia-2026.11"
    assert record.traceback is None
    assert base64.b64decode(record.body_b64) == dead.body
    assert probe.depth(queue) == 0


async def test_exhausted_retries_reach_the_dlq_with_attempts(transport, topology, probe):
    prefix = _prefix(topology)
    queue = transformer_queue(prefix)
    calls = 0

    async def always_down(message: Envelope) -> None:
        nonlocal calls
        calls += 1
        raise TransientError("OSCaR answered 503")

    consumer = _consumer(transport, topology, queue, always_down, max_attempts=3)
    await consumer.start()
    await MessagePublisher(transport, topology).publish(a_raw_record())
    assert await asyncio.to_thread(probe.wait_depth, f"{queue}.dlq", 1) == 1
    await consumer.stop()

    [dead] = probe.drain(f"{queue}.dlq")
    record = DeadLetter.from_message(dead.body, dead.headers)
    assert calls == 3
    assert record.attempts == 3
    assert record.error_class == "TransientError"
    assert record.error_message.startswith("gave up after 3 attempts")
    assert record.first_failure_at is not None
    assert record.first_failure_at < record.last_failure_at  # type: ignore[operator]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe not json", "body is not JSON"),
        (b'{"type": "raw-record", "schema_version": 1}', "invalid raw-record"),
        (b'{"type": "mystery", "schema_version": 1}', "unknown message type"),
    ],
)
async def test_undecodable_or_invalid_bodies_reach_the_dlq(
    transport, topology, probe, body, reason
):
    prefix = _prefix(topology)
    queue = transformer_queue(prefix)
    handled: list[Envelope] = []

    async def handler(message: Envelope) -> None:
        handled.append(message)

    consumer = _consumer(transport, topology, queue, handler)
    await consumer.start()
    await transport.publish(
        Outgoing(topology.raw_exchange, "c1.primero", body, headers={"x-sender": "someone"})
    )
    assert await asyncio.to_thread(probe.wait_depth, f"{queue}.dlq", 1) == 1
    await consumer.stop()
    [dead] = probe.drain(f"{queue}.dlq")
    assert dead.body == body
    assert dead.headers["x-sender"] == "someone"
    assert dead.headers[h.DEAD_ERROR_CLASS] == "InvalidMessage"
    assert reason in dead.headers[h.DEAD_ERROR_MESSAGE]
    assert handled == []


async def test_a_handler_bug_is_dead_lettered_with_a_traceback(transport, topology, probe):
    prefix = _prefix(topology)
    queue = transformer_queue(prefix)

    async def buggy(message: Envelope) -> None:
        _ = message.payload["missing"]

    consumer = _consumer(transport, topology, queue, buggy)
    await consumer.start()
    await MessagePublisher(transport, topology).publish(a_raw_record())
    assert await asyncio.to_thread(probe.wait_depth, f"{queue}.dlq", 1) == 1
    await consumer.stop()
    [dead] = probe.drain(f"{queue}.dlq")
    assert dead.headers[h.DEAD_ERROR_CLASS] == "KeyError"
    assert "Traceback" in dead.headers[h.DEAD_TRACEBACK]
    assert "buggy" in dead.headers[h.DEAD_TRACEBACK]


async def test_publish_to_a_missing_exchange_raises(transport, topology):
    with pytest.raises(PublishNotConfirmed, match="404"):
        await transport.publish(Outgoing("no-such-exchange-x", "k", b"{}"))
    # The publisher recovers its channel and keeps working afterwards.
    await MessagePublisher(transport, topology).publish(a_raw_record())


async def test_publish_with_no_bound_queue_raises_unroutable(transport, topology):
    with pytest.raises(Unroutable):
        await transport.publish(Outgoing(topology.command_exchange, "no-such-target", b"{}"))


async def test_a_command_for_a_target_without_a_loader_dead_letters_its_cause(
    transport, topology, probe
):
    prefix = _prefix(topology)
    queue = transformer_queue(prefix)

    def to_nowhere(message: Envelope) -> list[Envelope]:
        return [an_upsert_command(message, target="no-such-target")]

    consumer = _consumer(transport, topology, queue, to_nowhere)
    await consumer.start()
    await MessagePublisher(transport, topology).publish(a_raw_record())
    assert await asyncio.to_thread(probe.wait_depth, f"{queue}.dlq", 1) == 1
    await consumer.stop()
    [dead] = probe.drain(f"{queue}.dlq")
    assert dead.headers[h.DEAD_ERROR_CLASS] == "Unroutable"
    assert "no-such-target" in dead.headers[h.DEAD_ERROR_MESSAGE]


async def test_sigkill_mid_message_loses_nothing_and_handles_once(
    rabbitmq_url, topology, probe, tmp_path, transport
):
    prefix = _prefix(topology)
    record = tmp_path / "record.txt"
    record.touch()
    commands = [an_upsert_command(target="sink", key={"id": str(i)}) for i in range(5)]
    await MessagePublisher(transport, topology).publish_many(commands)

    slow = _start_worker(rabbitmq_url, prefix, record, sleep_s=30)
    await _wait_for(lambda: record.read_text().count("start ") >= 5)
    slow.send_signal(signal.SIGKILL)
    slow.wait(10)
    assert "done " not in record.read_text(), "killed before any message finished"

    fast = _start_worker(rabbitmq_url, prefix, record, sleep_s=0)
    try:
        await _wait_for(lambda: record.read_text().count("done ") >= 5)
        await asyncio.sleep(0.5)
    finally:
        fast.send_signal(signal.SIGTERM)
        assert fast.wait(15) == 0
    lines = record.read_text().split("\n")
    for command in commands:
        assert lines.count(f"start {command.message_id}") == 2, "redelivered after the kill"
        assert lines.count(f"done {command.message_id}") == 1, "handled exactly once"
    assert probe.depth(loader_queue(prefix, "sink")) == 0


async def test_sigterm_drains_in_flight_messages_and_exits_zero(
    rabbitmq_url, topology, probe, tmp_path, transport
):
    prefix = _prefix(topology)
    queue = loader_queue(prefix, "sink")
    record = tmp_path / "record.txt"
    record.touch()
    commands = [an_upsert_command(target="sink", key={"id": str(i)}) for i in range(40)]
    await MessagePublisher(transport, topology).publish_many(commands)

    worker = _start_worker(rabbitmq_url, prefix, record, sleep_s=0.3, prefetch=4)

    def mid_batch() -> bool:
        text = record.read_text()
        return text.count("done ") >= 4 and text.count("start ") > text.count("done ")

    await _wait_for(mid_batch)  # SIGTERM while handlers are mid-message
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0, "clean exit after SIGTERM"

    text = record.read_text()
    started = {line.split()[1] for line in text.splitlines() if line.startswith("start ")}
    done = {line.split()[1] for line in text.splitlines() if line.startswith("done ")}
    assert started == done, "every message it started was finished before exiting"
    await asyncio.sleep(0.3)
    assert len(done) + probe.depth(queue) == 40, "the rest is back in the queue"
    assert len(done) < 40


def _start_worker(
    url: str, prefix: str, record: Path, *, sleep_s: float, prefetch: int = 10
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            "--url",
            url,
            "--prefix",
            prefix,
            "--record",
            str(record),
            "--sleep-s",
            str(sleep_s),
            "--prefetch",
            str(prefetch),
        ],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_publisher_raises_while_broker_is_stopped_and_republishes_after_restart(
    own_rabbitmq: PrivateRabbitMQ, topology: Topology
) -> None:
    """On a node of the test's own: stopping the shared broker would break every other test."""
    rabbitmq_url = own_rabbitmq.url
    probe = AmqpProbe(rabbitmq_url)
    prefix = _prefix(topology)
    impatient = AmqpTransport(rabbitmq_url, name="tests-impatient", publish_timeout_s=2)
    patient = AmqpTransport(rabbitmq_url, name="tests-patient", publish_timeout_s=60)
    for t in (impatient, patient):
        await t.connect()
    await impatient.declare(topology)
    # A consumer running across the restart must resubscribe by itself.
    loaded: list[Envelope] = []

    async def load(message: Envelope) -> None:
        loaded.append(message)

    consumer = _consumer(patient, topology, loader_queue(prefix, "sink"), load)
    await consumer.start()
    raw = a_raw_record()
    await asyncio.to_thread(own_rabbitmq.stop)
    try:
        with pytest.raises((BrokerUnavailable, PublishNotConfirmed)):
            await MessagePublisher(impatient, topology).publish(a_raw_record())
        # Published while the broker is down: held unconfirmed, re-published after reconnect.
        waiting = asyncio.ensure_future(MessagePublisher(patient, topology).publish(raw))
        await asyncio.sleep(0.5)
        assert not waiting.done()
    finally:
        await asyncio.to_thread(own_rabbitmq.start)
    await asyncio.wait_for(waiting, 60)
    command = an_upsert_command(target="sink")
    await MessagePublisher(patient, topology).publish(command)
    await _wait_for(lambda: [m.message_id for m in loaded] == [command.message_id], 30)
    await consumer.stop()
    for t in (impatient, patient):
        await t.close()
    messages = probe.drain(transformer_queue(prefix))
    assert [orjson.loads(m.body)["message_id"] for m in messages] == [raw.message_id]
