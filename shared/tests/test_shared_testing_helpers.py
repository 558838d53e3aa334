"""Our own test helpers, the service wrapper and the runner behave as handler tests rely on."""

from __future__ import annotations

import asyncio
import base64

import pytest

from casebridge.errors import BrokerUnavailable
from casebridge.messages import DeadLetter
from casebridge.runtime import run_service
from casebridge.service import ConsumingService
from casebridge.settings import HealthSettings
from casebridge.testing.builders import a_dead_letter, a_raw_record, an_upsert_command
from casebridge.testing.recording import RecordingPublisher

from .conftest import SINK, Bus, wait_for


async def test_the_recording_publisher_keeps_messages_in_order():
    publisher = RecordingPublisher()
    raw = a_raw_record()
    commands = [an_upsert_command(raw, key={"n": str(i)}) for i in range(3)]
    await publisher.publish(raw)
    await publisher.publish_many(commands)
    assert publisher.messages == [raw, *commands]


async def test_the_recording_publisher_can_be_told_to_fail():
    publisher = RecordingPublisher()
    publisher.fail_with = BrokerUnavailable("broker down")
    with pytest.raises(BrokerUnavailable, match="broker down"):
        await publisher.publish(a_raw_record())
    with pytest.raises(BrokerUnavailable):
        await publisher.publish_many([a_raw_record()])
    assert publisher.messages == []


def test_a_dead_letter_builder_gives_a_valid_record_with_overrides():
    dead = a_dead_letter(attempts=4, body_b64=base64.b64encode(b"{}").decode())
    assert isinstance(dead, DeadLetter)
    assert dead.attempts == 4
    assert dead.body == b"{}"
    assert a_dead_letter().queue == "cb.loader.oscar"


async def test_a_consuming_service_starts_hooks_and_consumers_and_drains_on_stop(bus: Bus):
    order: list[str] = []
    handled: list[str] = []

    async def handler(message: object) -> None:
        await asyncio.sleep(0.02)
        handled.append("x")

    async def opened() -> None:
        order.append("start-hook")

    async def closed() -> None:
        order.append(f"stop-hook after {len(handled)} handled")

    consumer = bus.consumer(SINK, handler)
    service = ConsumingService(
        bus.transport, bus.topology, [consumer], on_start=[opened], on_stop=[closed]
    )
    await bus.transport.close()
    assert not service.ready()
    await service.start()
    assert service.ready()
    await bus.publisher.publish(an_upsert_command(target="sink"))
    await wait_for(lambda: consumer.in_flight == 1)
    await service.stop()
    assert order == ["start-hook", "stop-hook after 1 handled"], "drained before stop hooks"
    assert not service.ready()


async def test_run_service_starts_serves_and_stops_when_told():
    calls: list[str] = []
    stop_event = asyncio.Event()

    async def start() -> None:
        calls.append("start")
        stop_event.set()

    async def stop() -> None:
        calls.append("stop")

    health = HealthSettings(health_port=0)  # 0: no health server
    await asyncio.wait_for(
        run_service(
            start=start, stop=stop, ready=lambda: True, health=health, stop_event=stop_event
        ),
        5,
    )
    assert calls == ["start", "stop"]


async def test_run_service_stops_even_when_start_fails():
    calls: list[str] = []

    async def start() -> None:
        raise BrokerUnavailable("no broker")

    async def stop() -> None:
        calls.append("stop")

    with pytest.raises(BrokerUnavailable):
        await run_service(
            start=start, stop=stop, ready=lambda: False, health=HealthSettings(health_port=0)
        )
    assert calls == ["stop"]
