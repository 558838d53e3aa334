"""pika still calls what `FastConnection` overrides, on a real RabbitMQ connection.

`casebridge.amqp.wire` replaces private methods of pika's connection. The byte-level tests of
test_shared_amqp_wire.py call those methods directly, so they would pass even if a pika release
stopped calling them (and the client quietly fell back to pika's slow paths, or worse, lost the
frames its own writer never saw). Here a publish/consume round trip on the broker counts every
override and every pika path it replaces.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from pika.adapters.utils import io_services_utils
from pika.connection import Connection

from casebridge.amqp import AmqpTransport
from casebridge.amqp.wire import RECV_BYTES, FastConnection
from casebridge.transport import Delivery, Outgoing

pytestmark = pytest.mark.integration

#: Overrides of pika's Connection that the round trip must exercise.
OVERRIDES = (
    "_send_message",
    "_output_marshaled_frames",
    "_on_data_available",
    "_proto_connection_made",
)
#: pika's own paths that the overrides replace: a round trip must never reach them.
REPLACED = ("_trim_frame_buffer",)
SMALL, LARGE = 300, 3  # LARGE bodies exceed the broker's frame_max (128 KB): several body frames
LARGE_BODY = 300 * 1024


def _counting(calls: Counter[str], name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[name] += 1
        return original(*args, **kwargs)

    return wrapper


async def test_pika_calls_every_override_and_writes_are_coalesced(
    rabbitmq_url: str, unique_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert all(name in vars(FastConnection) for name in OVERRIDES)  # counting ours, not pika's
    calls: Counter[str] = Counter()
    for name in (*OVERRIDES, "_adapter_emit_data"):
        monkeypatch.setattr(
            FastConnection, name, _counting(calls, name, getattr(FastConnection, name))
        )
    for name in REPLACED:
        monkeypatch.setattr(Connection, name, _counting(calls, name, getattr(Connection, name)))
    recv_sizes: set[int] = set()
    real_recv = io_services_utils._AsyncTransportBase._sigint_safe_recv

    def recv(sock: Any, max_bytes: int) -> bytes:
        recv_sizes.add(max_bytes)
        return bytes(real_recv(sock, max_bytes))

    monkeypatch.setattr(
        io_services_utils._AsyncTransportBase, "_sigint_safe_recv", staticmethod(recv)
    )

    queue = f"{unique_prefix}.overrides"
    bodies = [f"small-{i}".encode() * 10 for i in range(SMALL)]
    bodies += [bytes([i]) * LARGE_BODY for i in range(LARGE)]
    transport = AmqpTransport(rabbitmq_url, name=f"{unique_prefix}-overrides")
    await transport.connect()
    channel = await transport.connection.channel()
    try:
        await channel.call(channel.raw.queue_declare, queue=queue, auto_delete=False)
        conn = transport.connection._conn
        assert isinstance(conn, FastConnection)
        frames_before, emits_before = conn.frames_sent, calls["_adapter_emit_data"]

        # All sent in one loop turn: one coalesced write instead of one `send` per frame.
        confirms: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        outcomes: list[BaseException | None] = []

        def confirmed(error: BaseException | None) -> None:
            outcomes.append(error)
            if len(outcomes) == len(bodies) and not confirms.done():
                confirms.set_result(None)

        for i, body in enumerate(bodies):
            transport.publish_then(Outgoing("", queue, body, message_id=f"m{i}"), confirmed)
        await asyncio.wait_for(confirms, 30)
        assert outcomes == [None] * len(bodies)
        frames = conn.frames_sent - frames_before
        emits = calls["_adapter_emit_data"] - emits_before
        # 3 frames per small publish, 2 + 3 body frames per large one, written in a few sends.
        assert frames >= 3 * SMALL + 5 * LARGE
        assert emits * 10 < frames

        received: dict[str, bytes] = {}
        done = asyncio.Event()

        def on_delivery(delivery: Delivery) -> None:
            received[str(delivery.message_id)] = delivery.body
            delivery.ack()
            if len(received) == len(bodies):
                done.set()

        handle = await transport.consume(queue, on_delivery, prefetch=500)
        await asyncio.wait_for(done.wait(), 30)
        await handle.flush()
        assert received == {f"m{i}": body for i, body in enumerate(bodies)}
    finally:
        await channel.call(channel.raw.queue_delete, queue=queue)
        channel.close()
        await transport.close()

    for name in OVERRIDES:
        assert calls[name] > 0, f"pika no longer calls FastConnection.{name}"
    assert calls["_send_message"] >= len(bodies)
    for name in REPLACED:
        assert calls[name] == 0, f"pika's own {name} ran: the fast reader was bypassed"
    # The read size is set on pika's transport by attribute name: pika must still read it.
    assert recv_sizes == {RECV_BYTES}
