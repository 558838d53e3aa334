"""The type registry: decoding, validation errors without values, upcasting."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import orjson
import pytest

from casebridge.errors import InvalidMessage, PermanentError
from casebridge.messages import (
    Envelope,
    MessageRegistry,
    RawRecord,
    UpsertCommand,
    default_registry,
)
from casebridge.testing.builders import a_raw_record, an_upsert_command

CHILD_NAME = "Sokha Chanthou"


class NoteV2(Envelope):
    """A test contract at version 2: v1 had `text`, v2 has `body` and `lang`."""

    message_type: ClassVar[str] = "test-note"
    current_version: ClassVar[int] = 2

    type: Literal["test-note"] = "test-note"
    body: str
    lang: str


class NoteV3(NoteV2):
    """v3 adds `words`."""

    current_version: ClassVar[int] = 3

    words: int


def _v1_note() -> dict[str, Any]:
    data = a_raw_record().model_dump(mode="json", exclude={"payload", "query"})
    data.update(type="test-note", schema_version=1, text="hello there")
    return data


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["body"] = data.pop("text")
    data["lang"] = "en"
    return data


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    assert data["schema_version"] == 2, "steps run in order, each seeing the previous version"
    return {**data, "words": len(data["body"].split())}


def test_a_raw_record_and_a_command_round_trip_through_the_wire_form():
    registry = default_registry()
    raw = a_raw_record({"case_id": "c-1"})
    command = an_upsert_command(raw)
    assert registry.decode(MessageRegistry.encode(raw)) == raw
    assert registry.decode(MessageRegistry.encode(command)) == command
    assert isinstance(registry.decode(MessageRegistry.encode(command)), UpsertCommand)
    assert orjson.loads(MessageRegistry.encode(raw))["type"] == "raw-record"


def test_the_body_type_decides_not_the_type_hint():
    raw = a_raw_record()
    decoded = default_registry().decode(MessageRegistry.encode(raw), type_hint="upsert-command")
    assert isinstance(decoded, RawRecord)


def test_the_default_registry_knows_raw_records_and_commands():
    assert set(default_registry()) == {RawRecord, UpsertCommand}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe not json", "body is not JSON"),
        (b"[1, 2]", "body is not a JSON object"),
        (b'"raw-record"', "body is not a JSON object"),
        (b'{"type": "mystery", "schema_version": 1}', "unknown message type 'mystery'"),
        (b'{"schema_version": 1}', "unknown message type ''"),
        (b'{"type": "raw-record"}', "schema_version missing or not an integer"),
        (b'{"type": "raw-record", "schema_version": "1"}', "schema_version missing"),
        (b'{"type": "raw-record", "schema_version": 1}', "invalid raw-record"),
    ],
)
def test_undecodable_bodies_are_invalid_messages(body, reason):
    with pytest.raises(InvalidMessage, match=reason) as caught:
        default_registry().decode(body)
    assert isinstance(caught.value, PermanentError), "dead-lettered at once, never retried"


def test_validation_errors_name_the_fields_but_never_the_values():
    data = a_raw_record({"name": CHILD_NAME}).model_dump(mode="json")
    data["correlation_id"] = {"name": CHILD_NAME}  # wrong type, child data as the value
    data["source"]["record_id"] = [CHILD_NAME]
    data["child_name"] = CHILD_NAME  # unknown field
    del data["flow"]
    with pytest.raises(InvalidMessage) as caught:
        default_registry().decode(orjson.dumps(data))
    text = str(caught.value)
    assert text.startswith("invalid raw-record: ")
    for field in ("correlation_id", "source.record_id", "child_name", "flow"):
        assert field in text
    assert "missing" in text
    assert "extra_forbidden" in text
    assert CHILD_NAME not in text
    assert "Sokha" not in text
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__, "the pydantic error (with values) is not chained"


def test_a_json_error_does_not_quote_the_body():
    with pytest.raises(InvalidMessage) as caught:
        default_registry().decode(b'{"name": "' + CHILD_NAME.encode() + b'", broken')
    assert CHILD_NAME not in str(caught.value)


def test_an_old_version_is_upcast_step_by_step_before_validation():
    registry = MessageRegistry()
    registry.register(NoteV3, upcasters={1: _v1_to_v2, 2: _v2_to_v3})
    note = registry.decode(orjson.dumps(_v1_note()))
    assert isinstance(note, NoteV3)
    assert note.schema_version == 3
    assert (note.body, note.lang, note.words) == ("hello there", "en", 2)


def test_a_single_upcaster_brings_v1_to_v2():
    registry = MessageRegistry()
    registry.register(NoteV2, upcasters={1: _v1_to_v2})
    note = registry.decode(orjson.dumps(_v1_note()))
    assert isinstance(note, NoteV2)
    assert (note.schema_version, note.body, note.lang) == (2, "hello there", "en")
    current = {**_v1_note(), "schema_version": 2, "body": "b", "lang": "km"}
    del current["text"]
    assert registry.decode(orjson.dumps(current)) == NoteV2.model_validate(current)


def test_a_missing_upcaster_is_an_invalid_message():
    registry = MessageRegistry()
    registry.register(NoteV3, upcasters={1: _v1_to_v2})
    with pytest.raises(InvalidMessage, match="no upcaster for test-note v2"):
        registry.decode(orjson.dumps(_v1_note()))


def test_a_version_newer_than_known_is_refused():
    registry = MessageRegistry()
    registry.register(NoteV2, upcasters={1: _v1_to_v2})
    newer = {**_v1_note(), "schema_version": 3}
    with pytest.raises(InvalidMessage, match="v3 is newer than this service understands"):
        registry.decode(orjson.dumps(newer))
    raw = a_raw_record().model_dump(mode="json")
    with pytest.raises(InvalidMessage, match="newer"):
        default_registry().decode(orjson.dumps({**raw, "schema_version": 2}))


def test_registering_a_model_without_type_or_a_second_model_for_a_type_fails():
    registry = MessageRegistry()
    with pytest.raises(ValueError, match="no message_type"):
        registry.register(Envelope)
    registry.register(NoteV2)
    registry.register(NoteV2)  # the same model again is harmless
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(NoteV3)


def test_model_for_an_unknown_type_raises_invalid_message():
    with pytest.raises(InvalidMessage, match="unknown message type"):
        MessageRegistry().model_for("raw-record")
