"""The fast frame reader of `FastConnection` decodes exactly what pika's own decoder does, however
the byte stream is cut into reads."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pika import frame, spec
from pika.connection import Connection
from pika.exceptions import InvalidFrameError

from casebridge.amqp.wire import FastConnection


class _Reader:
    """Just the state `_on_data_available` touches, so no socket is needed."""

    def __init__(self) -> None:
        self._frame_buffer = b""
        self.bytes_received = 0
        self.is_closed = False
        self.frames: list[Any] = []

    def _process_frame(self, value: Any) -> None:
        self.frames.append(value)

    def feed(self, data: bytes) -> None:
        FastConnection._on_data_available(self, data)  # type: ignore[arg-type]


def _deliveries(count: int) -> bytes:
    """A server's stream: deliveries of varied sizes, a confirm and a heartbeat between them."""
    rng = random.Random(7)
    out: list[bytes] = []
    for tag in range(1, count + 1):
        body = bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 300, 3000, 9000))))
        deliver = spec.Basic.Deliver("ctag", tag, False, "ex", f"rk.{tag}")
        props = spec.BasicProperties(delivery_mode=2, message_id=f"m{tag}", headers={"a": tag})
        out.append(frame.Method(1, deliver).marshal())
        out.append(frame.Header(1, len(body), props).marshal())
        if body:
            out.append(frame.Body(1, body).marshal())
        if tag % 7 == 0:
            out.append(frame.Method(1, spec.Basic.Ack(tag, multiple=True)).marshal())
        if tag % 11 == 0:
            out.append(frame.Heartbeat().marshal())
    return b"".join(out)


def _pika_frames(stream: bytes) -> list[Any]:
    frames, offset = [], 0
    while offset < len(stream):
        consumed, value = frame.decode_frame(stream[offset:])
        assert value is not None
        frames.append(value)
        offset += consumed
    return frames


def _same(ours: Any, theirs: Any) -> bool:
    if type(ours) is not type(theirs):
        return False
    if isinstance(ours, frame.Body):
        return bool(ours.fragment == theirs.fragment and ours.channel_number == 1)
    if isinstance(ours, frame.Method):
        return bool(vars(ours.method) == vars(theirs.method))
    if isinstance(ours, frame.Header):
        return bool(
            ours.body_size == theirs.body_size and vars(ours.properties) == vars(theirs.properties)
        )
    return True


@pytest.mark.parametrize("read_size", [1, 7, 8, 100, 4096, 65536, 10**7])
def test_frames_are_decoded_like_pika_for_any_read_size(read_size: int) -> None:
    stream = _deliveries(40)
    expected = _pika_frames(stream)
    reader = _Reader()
    for start in range(0, len(stream), read_size):
        reader.feed(stream[start : start + read_size])
    assert len(reader.frames) == len(expected)
    assert all(_same(a, b) for a, b in zip(reader.frames, expected, strict=True))
    assert reader._frame_buffer == b""
    assert reader.bytes_received == len(stream)


def test_a_partial_frame_waits_for_the_rest() -> None:
    stream = _deliveries(1)
    reader = _Reader()
    reader.feed(stream[:-1])
    assert reader._frame_buffer  # the body frame's last byte is missing
    reader.feed(stream[-1:])
    assert [type(f) for f in reader.frames] == [frame.Method, frame.Header, frame.Body]


def test_a_corrupt_frame_end_is_refused() -> None:
    stream = bytearray(_deliveries(1))
    stream[-1] = 0
    with pytest.raises(InvalidFrameError):
        _Reader().feed(bytes(stream))


def test_reading_stops_once_a_frame_closed_the_connection() -> None:
    reader = _Reader()

    def close_after_first(value: Any) -> None:
        reader.frames.append(value)
        reader.is_closed = True

    reader._process_frame = close_after_first  # type: ignore[method-assign]
    reader.feed(_deliveries(3))
    assert len(reader.frames) == 1


class _Writer:
    """The state `_send_message` touches; records what would be written."""

    def __init__(self) -> None:
        self._body_max_length = 4088  # a 4 KB frame_max, as a broker may negotiate
        self.frames_sent = 0
        self.written: list[bytes] = []

    def _output_marshaled_frames(self, frames: Any) -> None:  # pika's path
        self.written.extend(frames)
        self.frames_sent += len(frames)

    def _queue(self, data: Any, frames: int) -> None:  # ours
        self.written.extend(data)
        self.frames_sent += frames


@pytest.mark.parametrize("size", [0, 1, 3000, 4088, 4089, 20000])
@pytest.mark.parametrize("headers", [None, {"cb-attempts": 2, "x": "é"}])
def test_a_publish_is_marshalled_byte_for_byte_like_pika(size: int, headers: Any) -> None:
    method = spec.Basic.Publish(exchange="cb.raw", routing_key="c1.primero", mandatory=True)
    props = spec.BasicProperties(
        delivery_mode=2, headers=headers, message_id="m-1", correlation_id="c-1", type="raw"
    )
    body = bytes(random.Random(size).randrange(256) for _ in range(size))
    theirs, ours = _Writer(), _Writer()
    Connection._send_message(theirs, 5, method, (props, body))  # type: ignore[arg-type]
    FastConnection._send_message(ours, 5, method, (props, body))  # type: ignore[arg-type]
    assert b"".join(ours.written) == b"".join(theirs.written)
    assert ours.frames_sent == theirs.frames_sent


def test_the_servers_protocol_header_reply_reaches_pika() -> None:
    reader = _Reader()
    reader.feed(b"AMQP\x00\x00\x09\x01")
    assert [type(f) for f in reader.frames] == [frame.ProtocolHeader]
