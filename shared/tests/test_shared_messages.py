"""Message contracts: deterministic ids, causation, strict models, dead-letter records."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from casebridge import headers as h
from casebridge.ids import CASEBRIDGE_NAMESPACE, deterministic_id, new_id
from casebridge.messages import DeadLetter, RawRecord, SourceRef, UpsertCommand
from casebridge.testing.builders import a_raw_record, a_source, an_upsert_command

UPDATED = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)


def _raw(payload: dict[str, object] | None = None, **source: object) -> RawRecord:
    values: dict[str, object] = {
        "system": "primero",
        "record_type": "case",
        "record_id": "case-7",
        "updated_at": UPDATED,
    }
    values.update(source)
    return RawRecord.of(
        flow="c1",
        source=SourceRef(**values),  # type: ignore[arg-type]
        payload=payload if payload is not None else {"sex": "f"},
        producer="tests",
    )


def test_the_same_record_version_always_gets_the_same_message_id():
    first = _raw({"sex": "f"})
    again = _raw({"sex": "f", "status": "open"})  # same updated_at: same version
    assert first.message_id == again.message_id
    assert first.correlation_id == again.correlation_id


def test_a_new_updated_at_is_a_new_message_but_the_same_correlation():
    first = _raw()
    newer = _raw(updated_at=UPDATED + timedelta(seconds=1))
    assert newer.message_id != first.message_id
    assert newer.correlation_id == first.correlation_id


def test_different_records_get_different_ids():
    assert _raw(record_id="a").message_id != _raw(record_id="b").message_id
    assert _raw(record_id="a").correlation_id != _raw(record_id="b").correlation_id
    assert _raw(system="oscar").message_id != _raw().message_id


def test_the_same_instant_in_another_utc_offset_gives_the_same_message_id():
    plus_seven = UPDATED.astimezone(timezone(timedelta(hours=7)))
    assert plus_seven == UPDATED
    assert _raw(updated_at=plus_seven).message_id == _raw().message_id
    assert deterministic_id("x", plus_seven) == deterministic_id("x", UPDATED)


def test_ids_are_pinned_forever_so_stored_ids_keep_matching():
    # uuid5(CASEBRIDGE_NAMESPACE, "raw\x1fc1\x1fprimero\x1fcase\x1fcase-7\x1f<iso time>")
    assert _raw().message_id == "3d8f5752-54cf-5134-b43c-637f92bb39c4"


def test_without_updated_at_the_payload_content_hash_is_the_version():
    first = _raw({"a": 1, "b": 2}, updated_at=None)
    reordered = _raw({"b": 2, "a": 1}, updated_at=None)
    changed = _raw({"a": 1, "b": 3}, updated_at=None)
    assert first.message_id == reordered.message_id, "key order does not matter"
    assert changed.message_id != first.message_id
    assert changed.correlation_id == first.correlation_id


def test_deterministic_ids_are_uuids_that_depend_on_every_part_and_new_ids_are_random():
    one = deterministic_id("raw", "c1", "x")
    assert one == deterministic_id("raw", "c1", "x")
    assert one != deterministic_id("raw", "c1", "y")
    assert deterministic_id("a", None) == deterministic_id("a", "")
    assert len(one) == 36
    assert new_id() != new_id()


@pytest.mark.parametrize(
    "parts",
    [
        ("raw", "c1", "x"),
        ("cmd", None, 7, "é ✓"),
        ("a", datetime(2026, 1, 2, 3, 4, tzinfo=UTC)),
        (),
    ],
)
def test_deterministic_ids_are_exactly_the_uuid5_of_the_joined_parts(parts):
    """The hand-rolled uuid5 must never drift from the standard one: ids in flight depend on it."""
    names = [
        "" if p is None else p.isoformat() if isinstance(p, datetime) else str(p) for p in parts
    ]
    assert deterministic_id(*parts) == str(uuid.uuid5(CASEBRIDGE_NAMESPACE, "\x1f".join(names)))


def test_a_command_caused_by_a_record_keeps_correlation_and_source_and_points_at_its_cause():
    raw = _raw()
    command = UpsertCommand.caused_by(
        raw,
        target="oscar",
        operation="client_upsert",
        key={"external_id": "case-7"},
        payload={"external_id": "case-7"},
        producer="transformer",
        mapping_version="cambodia-2026.11",
    )
    assert command.correlation_id == raw.correlation_id
    assert command.causation_id == raw.message_id
    assert command.source == raw.source
    assert command.flow == raw.flow
    assert command.message_id not in (raw.message_id, raw.correlation_id)
    assert command.mapping_version == "cambodia-2026.11"
    assert command.schema_version == UpsertCommand.current_version


def test_command_ids_are_deterministic_per_cause_target_operation_and_key():
    raw = _raw()
    base = {
        "target": "oscar",
        "operation": "client_upsert",
        "key": {"a": "1", "b": "2"},
        "payload": {},
        "producer": "t",
    }
    command = UpsertCommand.caused_by(raw, **base)  # type: ignore[arg-type]
    same = UpsertCommand.caused_by(raw, **{**base, "key": {"b": "2", "a": "1"}})  # type: ignore[arg-type]
    assert command.message_id == same.message_id
    for change in (
        {"target": "primero"},
        {"operation": "update_links"},
        {"key": {"a": "1", "b": "3"}},
    ):
        other = UpsertCommand.caused_by(raw, **{**base, **change})  # type: ignore[arg-type]
        assert other.message_id != command.message_id, change
    newer = _raw(updated_at=UPDATED + timedelta(days=1))
    assert UpsertCommand.caused_by(newer, **base).message_id != command.message_id  # type: ignore[arg-type]


def test_models_forbid_unknown_fields_at_every_level():
    raw = a_raw_record()
    data = raw.model_dump()
    with pytest.raises(ValidationError, match="extra_forbidden"):
        RawRecord.model_validate({**data, "surprise": 1})
    with pytest.raises(ValidationError):
        RawRecord.model_validate({**data, "source": {**data["source"], "surprise": 1}})
    with pytest.raises(ValidationError):
        SourceRef(system="primero", record_type="case", record_id="1", colour="red")  # type: ignore[call-arg]


def test_messages_are_frozen():
    raw = a_raw_record()
    with pytest.raises(ValidationError):
        raw.flow = "c2"  # type: ignore[misc]


def test_produced_at_is_timezone_aware():
    assert a_raw_record().produced_at.tzinfo is not None


def test_a_dead_letter_written_by_the_consumer_is_read_back_from_headers():
    body = b'{"type":"raw-record"}'
    headers = {
        "x-sender": "someone",
        h.MESSAGE_ID: "m-1",
        h.CORRELATION_ID: "c-1",
        h.MESSAGE_TYPE: "raw-record",
        h.FLOW: "c1",
        h.MAPPING_VERSION: "v1",
        h.REPLAY_COUNT: 2,
        h.DEAD_QUEUE: "cb.transformer",
        h.DEAD_STAGE: "transformer",
        h.DEAD_ERROR_CLASS: "PermanentError",
        h.DEAD_ERROR_MESSAGE: "no mapping",
        h.DEAD_ATTEMPTS: 3,
        h.DEAD_FIRST_FAILURE: "2026-11-01T08:30:00+00:00",
        h.DEAD_LAST_FAILURE: "2026-11-01T08:31:00+00:00",
    }
    dead = DeadLetter.from_message(body, headers)
    assert dead.queue == "cb.transformer"
    assert dead.stage == "transformer"
    assert (dead.message_id, dead.correlation_id, dead.message_type) == ("m-1", "c-1", "raw-record")
    assert dead.flow == "c1"
    assert dead.error_class == "PermanentError"
    assert dead.error_message == "no mapping"
    assert dead.attempts == 3
    assert dead.first_failure_at == UPDATED
    assert dead.last_failure_at == UPDATED + timedelta(minutes=1)
    assert dead.mapping_version == "v1"
    assert dead.replay_count == 2
    assert dead.traceback is None
    assert dead.body == body
    assert base64.b64decode(dead.body_b64) == body
    assert "x-sender" in dead.original_headers
    assert not any(k.startswith(h.DEAD_PREFIX) for k in dead.original_headers)


def test_a_message_the_broker_dead_lettered_is_understood_from_x_death():
    headers = {"x-death": [{"queue": "cb.loader.oscar", "reason": "delivery_limit", "count": 4}]}
    dead = DeadLetter.from_message(b"{}", headers)
    assert dead.queue == "cb.loader.oscar"
    assert dead.stage == "broker"
    assert dead.error_class == "DeliveryLimitExceeded"
    assert dead.error_message == "dead-lettered by the broker: delivery_limit"
    assert dead.attempts == 4


def test_bytes_headers_are_decoded_and_empty_ones_are_none():
    dead = DeadLetter.from_message(
        b"{}",
        {h.DEAD_QUEUE: "q", h.DEAD_ERROR_CLASS: "E", h.MESSAGE_ID: b"m-1", h.FLOW: ""},
    )
    assert dead.message_id == "m-1"
    assert dead.flow is None


def test_builders_make_valid_messages_and_take_overrides():
    source = a_source(record_id="r-1", system="oscar")
    assert (source.record_id, source.system, source.record_type) == ("r-1", "oscar", "case")
    raw = a_raw_record({"n": 1}, flow="c2", record_id="r-2")
    assert raw.flow == "c2"
    assert raw.payload == {"n": 1}
    assert raw.source.record_id == "r-2"
    assert a_raw_record().source.record_id != a_raw_record().source.record_id
    command = an_upsert_command(raw, target="sink", payload={"x": 1})
    assert command.target == "sink"
    assert command.payload == {"x": 1}
    assert command.causation_id == raw.message_id
    assert an_upsert_command().causation_id is not None
