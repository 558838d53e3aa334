"""Logs: JSON on stderr with sensitive field names redacted at any depth; ids stay visible."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import structlog

from casebridge import consumer as consumer_module
from casebridge.errors import PermanentError
from casebridge.logs import QUIET_LOGGERS, configure_logging
from casebridge.messages import Envelope
from casebridge.redaction import REDACTED, SENSITIVE_FIELDS, Redactor
from casebridge.testing.builders import a_raw_record

from .conftest import TRANSFORMER, Bus, wait_for

CHILD = {
    "name": "Sokha Chanthou",
    "date_of_birth": "2012-03-04",
    "phone": "+855 12 345 678",
    "first": "Dara",
    "mother": "Srey Mom",
    "note": "lives with grandmother near the market",
}

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., Lines]]:
    """Configure JSON logging onto the captured stderr; return a reader of its lines."""

    def configure(**kwargs: Any) -> Lines:
        configure_logging(kwargs.pop("level", "INFO"), "json", service="tests", **kwargs)

        def lines() -> list[dict[str, Any]]:
            err = capsys.readouterr().err
            return [orjson.loads(line) for line in err.splitlines() if line.startswith("{")]

        return lines

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    yield configure
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    # The handler writes to this test's captured stderr, closed after it: later tests in the
    # process (the CLI's, alembic logging at INFO) must not write there.
    root.handlers, root.level = saved[0], saved[1]
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)
    logging.captureWarnings(False)


def _assert_no_child_data(text: str) -> None:
    for value in CHILD.values():
        assert value not in text


def test_sensitive_fields_are_redacted_at_any_depth_and_ids_stay(json_logs, capsys):
    lines = json_logs()
    log = structlog.get_logger("tests")
    log.info(
        "case_received",
        case_id="case-7",
        message_id="m-1",
        name=CHILD["name"],
        date_of_birth=CHILD["date_of_birth"],
        Phone=CHILD["phone"],
        child={"name_first": CHILD["first"], "age": 9, "contacts": [{"phone": CHILD["phone"]}]},
        family=({"full_name": CHILD["mother"]},),
        notes=[CHILD["note"]],
    )
    captured = capsys.readouterr().err
    _assert_no_child_data(captured)
    [event] = [orjson.loads(line) for line in captured.splitlines()]
    assert lines() == []
    assert event["event"] == "case_received"
    assert event["level"] == "info"
    assert event["service"] == "tests"
    assert event["case_id"] == "case-7"
    assert event["message_id"] == "m-1"
    assert "timestamp" in event
    assert event["name"] == event["date_of_birth"] == event["Phone"] == REDACTED
    assert event["child"] == {"name_first": REDACTED, "age": 9, "contacts": [{"phone": REDACTED}]}
    assert event["family"] == [{"full_name": REDACTED}]
    assert event["notes"] == REDACTED


def test_extra_sensitive_names_are_redacted_too(json_logs):
    lines = json_logs(extra_sensitive=("Mother_Name", "village"))
    structlog.get_logger("tests").info(
        "household", mother_name=CHILD["mother"], village="Kampong Speu", record_id="r-1"
    )
    [event] = lines()
    assert event["mother_name"] == REDACTED
    assert event["village"] == REDACTED
    assert event["record_id"] == "r-1"


def test_bound_context_is_redacted_as_well(json_logs):
    lines = json_logs()
    structlog.contextvars.bind_contextvars(name=CHILD["name"], correlation_id="c-1")
    structlog.get_logger("tests").warning("something")
    [event] = lines()
    assert event["name"] == REDACTED
    assert event["correlation_id"] == "c-1"


def test_the_level_filters_events(json_logs):
    lines = json_logs(level="warning")
    log = structlog.get_logger("tests")
    log.info("quiet")
    log.warning("loud")
    assert [e["event"] for e in lines()] == ["loud"]


async def test_the_consumer_logs_ids_of_a_dead_letter_but_never_the_payload(
    bus: Bus, monkeypatch, json_logs
):
    # Fixture order matters: logging is reset and the consumer's logger restored before the bus
    # (whose teardown logs) is torn down.
    lines = json_logs()
    # A fresh proxy: cached loggers would keep writing to this test's stderr afterwards.
    monkeypatch.setattr(consumer_module, "log", structlog.get_logger("casebridge.consumer"))

    async def unmappable(message: Envelope) -> None:
        raise PermanentError("no OSCaR province for code 19")

    consumer = bus.consumer(TRANSFORMER, unmappable)
    await consumer.start()
    raw = a_raw_record({"name": CHILD["name"], "date_of_birth": CHILD["date_of_birth"]})
    await bus.publisher.publish(raw)
    await wait_for(lambda: bus.count("dead_lettered") == 1)
    await consumer.stop()
    events = lines()
    [dead] = [e for e in events if e["event"] == "dead_lettered"]
    assert dead["message_id"] == raw.message_id
    assert dead["correlation_id"] == raw.correlation_id
    assert dead["record_id"] == raw.source.record_id
    assert dead["queue"] == TRANSFORMER
    assert dead["attempt"] == 1
    assert dead["reason"] == "no OSCaR province for code 19"
    _assert_no_child_data(orjson.dumps(events).decode())


def test_the_redactor_matches_names_case_insensitively_and_leaves_other_values():
    redactor = Redactor(["Province_Code"])
    assert redactor.is_sensitive("NAME")
    assert redactor.is_sensitive("province_code")
    assert not redactor.is_sensitive("case_id")
    event = {"event": "e", "Token": "abc", "items": ["x", {"api_key": "k"}], "n": 3}
    assert redactor(None, "info", event) == {
        "event": "e",
        "Token": REDACTED,
        "items": ["x", {"api_key": REDACTED}],
        "n": 3,
    }
    assert event["Token"] == "abc", "the caller's dict is not modified"


def test_the_default_sensitive_names_cover_child_data_and_secrets():
    for name in ("name", "date_of_birth", "phone", "address", "password", "authorization"):
        assert name in SENSITIVE_FIELDS


def test_stdlib_records_are_json_lines_with_the_service_and_their_logger(json_logs, capsys):
    json_logs()
    uvicorn = logging.getLogger("uvicorn.error")
    uvicorn.addHandler(logging.StreamHandler())  # its own handler: dropped by a new configuration
    json_logs()
    uvicorn.info("Uvicorn running on %s", "http://127.0.0.1:8080")
    logging.getLogger("alembic.runtime.migration").info("Context impl PostgresqlImpl.")
    logging.getLogger("httpx").info("HTTP Request: GET /api/v2/cases?name=x")  # quiet: WARNING+
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("aiohttp.server").exception("Error handling request")
    captured = capsys.readouterr().err
    events = [orjson.loads(line) for line in captured.splitlines()]  # every line is JSON
    by_logger = {e["logger"]: e for e in events}
    assert set(by_logger) == {
        "uvicorn.error",
        "alembic.runtime.migration",
        "aiohttp.server",
    }
    assert by_logger["uvicorn.error"]["event"] == "Uvicorn running on http://127.0.0.1:8080"
    assert all(e["service"] == "tests" and "timestamp" in e for e in events)
    assert by_logger["aiohttp.server"]["level"] == "error"
    assert "ValueError: boom" in by_logger["aiohttp.server"]["exception"]
