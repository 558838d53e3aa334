"""`casebridge.startup`: which failures are expected (one line, an exit status) and which are bugs
(the traceback stays)."""

from __future__ import annotations

import errno

import pytest
from pydantic import Field, ValidationError

from casebridge.errors import BrokerUnavailable, ConfigurationError, TransientError
from casebridge.settings import CasebridgeSettings
from casebridge.startup import (
    CONFIG,
    UNREACHABLE,
    StartupError,
    check_amqp_url,
    describe,
    redact_url,
    run_main,
)


class _Needs(CasebridgeSettings):
    oscar_url: str = Field()


def test_a_missing_setting_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OSCAR_URL", raising=False)
    with pytest.raises(ValidationError) as caught:
        _Needs()
    found = describe(caught.value)
    assert found is not None
    assert (found.message, found.status) == ("OSCAR_URL is not set", CONFIG)


@pytest.mark.parametrize("url", ["127.0.0.1:5672", "http://h:5672/", "amqp://", "amqp://h:x/"])
def test_a_broker_url_pika_would_choke_on_is_refused(url: str) -> None:
    with pytest.raises(StartupError) as caught:
        check_amqp_url(url)
    assert caught.value.status == CONFIG
    assert "RABBITMQ_URL" in caught.value.message


def test_passwords_never_reach_the_line() -> None:
    assert redact_url("amqp://guest:s3cret@h:5672/%2F") == "amqp://guest:***@h:5672/%2F"
    with pytest.raises(StartupError) as caught:
        check_amqp_url("ftp://guest:s3cret@h/")
    assert "s3cret" not in caught.value.message


def test_causes_and_groups_are_searched() -> None:
    try:
        try:
            raise OSError(errno.EADDRINUSE, "address already in use")
        except OSError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        found = describe(ExceptionGroup("start", [outer]))
    assert found is not None
    assert found.status == CONFIG
    assert "address already in use" in found.message


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (BrokerUnavailable("cannot connect: ProbableAuthenticationError()"), CONFIG),
        (BrokerUnavailable("cannot connect: ConnectionRefusedError()"), UNREACHABLE),
        (ConfigurationError("oscar sign-in refused"), CONFIG),
        (TransientError("oscar GET /clients answered 503"), UNREACHABLE),
    ],
)
def test_kinds_and_statuses(failure: Exception, status: int) -> None:
    found = describe(failure)
    assert found is not None
    assert found.status == status


def test_a_bug_is_not_described() -> None:
    assert describe(KeyError("a bug")) is None


def test_run_main_prints_one_line_and_exits_with_the_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def body() -> int:
        raise StartupError("CONTROL_DATABASE_URL is not set", CONFIG)

    with pytest.raises(SystemExit) as exited:
        run_main("casebridge", body, debug=False)
    assert exited.value.code == CONFIG
    assert capsys.readouterr().err == "casebridge: CONTROL_DATABASE_URL is not set\n"
    with pytest.raises(StartupError):
        run_main("casebridge", body, debug=True)  # --debug: the exception and its traceback
    with pytest.raises(KeyError):
        run_main("casebridge", lambda: {}["bug"], debug=False)  # a bug keeps its traceback
    with pytest.raises(SystemExit) as exited:
        run_main("casebridge", lambda: 0, debug=False)
    assert exited.value.code == 0
