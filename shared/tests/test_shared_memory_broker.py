"""The in-process broker honours the topology's arguments like RabbitMQ does."""

from __future__ import annotations

import asyncio

import pytest

from casebridge.errors import PublishNotConfirmed, Unroutable
from casebridge.memory import MemoryBroker, MemoryTransport
from casebridge.messages import DeadLetter
from casebridge.topology import QueueSpec, build_topology
from casebridge.transport import Delivery, Outgoing

from .conftest import PREFIX, RETRY_DELAYS, SINK, TRANSFORMER, Bus, wait_for


def _command(body: bytes = b"{}", **kwargs: object) -> Outgoing:
    return Outgoing(f"{PREFIX}.commands", "sink", body, **kwargs)  # type: ignore[arg-type]


async def _subscribe(bus: Bus, queue: str, prefetch: int = 10) -> list[Delivery]:
    deliveries: list[Delivery] = []
    await bus.transport.consume(queue, deliveries.append, prefetch=prefetch)
    return deliveries


async def test_a_requeued_message_beyond_the_delivery_limit_is_dead_lettered(bus):
    deliveries = await _subscribe(bus, SINK)
    await bus.transport.publish(
        _command(b'{"n": 1}', headers={"x-sender": "s"}, message_id="m-1", correlation_id="c-1")
    )
    for expected in (1, 2, 3):  # x-delivery-limit is 2: the third return is one too many
        await wait_for(lambda n=expected: len(deliveries) == n)  # type: ignore[misc]
        assert deliveries[-1].redelivered is (expected > 1)
        deliveries[-1].requeue()
    await wait_for(lambda: bus.depth(f"{SINK}.dlq") == 1)
    await asyncio.sleep(0.02)
    assert len(deliveries) == 3
    assert bus.depth(SINK) == 0
    [dead] = bus.drain(f"{SINK}.dlq")
    assert dead.body == b'{"n": 1}'
    assert dead.message_id == "m-1"
    assert dead.correlation_id == "c-1"
    assert dead.headers["x-death"] == [{"queue": SINK, "reason": "delivery_limit", "count": 1}]
    record = DeadLetter.from_message(dead.body, dead.headers)
    assert record.error_class == "DeliveryLimitExceeded"
    assert record.queue == SINK
    assert record.stage == "broker"
    assert record.original_headers["x-sender"] == "s"


async def test_a_classic_queue_has_no_delivery_limit():
    topology = build_topology("c", targets=("sink",), queue_type="classic")
    transport = MemoryTransport()
    await transport.declare(topology)
    deliveries: list[Delivery] = []
    await transport.consume("c.loader.sink", deliveries.append, prefetch=1)
    await transport.publish(Outgoing("c.commands", "sink", b"{}"))
    for n in range(1, 31):
        await wait_for(lambda n=n: len(deliveries) == n)  # type: ignore[misc]
        deliveries[-1].requeue()
    assert transport.broker.depth("c.loader.sink.dlq") == 0


async def test_a_message_in_a_retry_tier_returns_to_its_work_queue_after_the_ttl(bus):
    tier = f"{SINK}.retry.100ms"
    loop = asyncio.get_running_loop()
    await bus.transport.publish(Outgoing("", tier, b"{}", headers={"cb-attempts": 1}))
    sent = loop.time()
    assert bus.depth(tier) == 1
    assert bus.depth(SINK) == 0
    await wait_for(lambda: bus.depth(SINK) == 1)
    assert loop.time() - sent >= 0.095
    assert bus.depth(tier) == 0
    [back] = bus.drain(SINK)
    assert back.headers["cb-attempts"] == 1
    assert back.headers["x-death"][0]["reason"] == "expired"
    assert back.routing_key == SINK


async def test_publishing_to_a_queue_by_name_uses_the_default_exchange(bus):
    await bus.transport.publish(Outgoing("", f"{SINK}.dlq", b"x"))
    assert bus.depth(f"{SINK}.dlq") == 1


async def test_an_unbound_routing_key_is_unroutable_and_a_missing_exchange_not_confirmed(bus):
    with pytest.raises(Unroutable, match="nowhere"):
        await bus.transport.publish(Outgoing(f"{PREFIX}.commands", "nowhere", b"{}"))
    with pytest.raises(Unroutable):
        await bus.transport.publish(Outgoing("", "no-such-queue", b"{}"))
    with pytest.raises(PublishNotConfirmed, match="404"):
        await bus.transport.publish(Outgoing("no-such-exchange", "k", b"{}"))


async def test_publish_then_reports_the_confirm_on_a_later_loop_turn(bus):
    results: list[BaseException | None] = []
    bus.transport.publish_then(_command(), results.append)
    bus.transport.publish_then(Outgoing(f"{PREFIX}.commands", "nowhere", b"{}"), results.append)
    assert results == [], "like a confirm, never inside the call"
    await asyncio.sleep(0)
    assert results[0] is None
    assert isinstance(results[1], Unroutable)
    assert bus.depth(SINK) == 1


async def test_raw_records_reach_the_transformer_whatever_their_routing_key(bus):
    for key in ("c1.primero", "o1.oscar", "p2"):
        await bus.transport.publish(Outgoing(f"{PREFIX}.raw", key, b"{}"))
    assert bus.depth(TRANSFORMER) == 3
    assert bus.depth(SINK) == 0


async def test_declaring_twice_is_idempotent_but_different_arguments_are_refused(bus):
    await bus.transport.declare(bus.topology)
    assert len(bus.broker.bindings) == len(bus.topology.bindings())
    other = build_topology(PREFIX, targets=("sink",), retry_delays=RETRY_DELAYS, delivery_limit=9)
    with pytest.raises(PublishNotConfirmed, match="406 PRECONDITION_FAILED"):
        await bus.transport.declare(other)
    with pytest.raises(PublishNotConfirmed, match="inequivalent"):
        bus.broker.declare_queue(QueueSpec(SINK, {}))


async def test_a_consumer_gets_at_most_prefetch_unacked_deliveries(bus):
    deliveries = await _subscribe(bus, SINK, prefetch=2)
    for _ in range(5):
        await bus.transport.publish(_command())
    await asyncio.sleep(0.01)
    assert len(deliveries) == 2
    deliveries[0].ack()
    deliveries[0].ack()  # settling twice counts once
    await wait_for(lambda: len(deliveries) == 3)
    await asyncio.sleep(0.01)
    assert len(deliveries) == 3
    assert bus.depth(SINK) == 2


async def test_consumers_of_one_queue_take_turns(bus):
    first = await _subscribe(bus, SINK, prefetch=10)
    second = await _subscribe(bus, SINK, prefetch=10)
    for _ in range(6):
        await bus.transport.publish(_command())
    await wait_for(lambda: len(first) + len(second) == 6)
    assert (len(first), len(second)) == (3, 3)


async def test_a_requeued_message_goes_to_the_head_of_the_queue(bus):
    deliveries = await _subscribe(bus, SINK, prefetch=1)
    await bus.transport.publish(_command(b"1"))
    await bus.transport.publish(_command(b"2"))
    await wait_for(lambda: len(deliveries) == 1)
    deliveries[0].requeue()
    await wait_for(lambda: len(deliveries) == 2)
    assert deliveries[1].body == b"1"
    assert deliveries[1].redelivered


async def test_transports_sharing_a_broker_see_each_other_s_messages():
    broker = MemoryBroker()
    topology = build_topology("s", targets=("sink",))
    producer, consumer = MemoryTransport(broker), MemoryTransport(broker)
    assert not producer.is_ready
    await producer.connect()
    assert producer.is_ready
    await producer.declare(topology)
    deliveries: list[Delivery] = []
    await consumer.consume("s.loader.sink", deliveries.append, prefetch=5)
    await producer.publish(Outgoing("s.commands", "sink", b"hi"))
    await wait_for(lambda: len(deliveries) == 1)
    assert deliveries[0].queue == "s.loader.sink"
    assert deliveries[0].routing_key == "sink"
    await producer.close()
    assert not producer.is_ready
