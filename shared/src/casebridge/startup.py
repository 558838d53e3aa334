"""Expected failures of a command or a service start-up: one clear line, the right exit status.

A wrong password, a refused connection or a missing setting is not a bug: the operator needs one
line that names what to fix, not 20 to 170 lines of traceback. `run_main` turns the failures
listed here into `<program>: <what went wrong>` on stderr and an exit status; anything else (a
bug) keeps its traceback. `--debug` or `LOG_LEVEL=DEBUG` shows the traceback of every failure.

Exit statuses: 2 the configuration is wrong (missing or malformed setting, refused credentials,
unknown target, port in use: retrying cannot help); 3 something needed is unreachable (broker,
control store, simulator or target down: retrying later may help); 1 any other refusal.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import traceback
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, NoReturn

from casebridge.logs import json_from_environment

CONFIG = 2
UNREACHABLE = 3
REFUSED = 1


class StartupError(Exception):
    """A failure the operator can act on: `message` is the one line shown, `status` the exit."""

    def __init__(self, message: str, status: int = REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def debug_wanted(argv: list[str] | None = None) -> bool:
    """`--debug` on the command line or `LOG_LEVEL=DEBUG` in the environment."""
    args = sys.argv[1:] if argv is None else argv
    return "--debug" in args or os.environ.get("LOG_LEVEL", "").strip().upper() == "DEBUG"


def run_main(program: str, body: Callable[[], Any], *, debug: bool | None = None) -> NoReturn:
    """Run `body`; exit with its status (an int, None: 0), or one line for an expected failure."""
    show_traceback = debug_wanted() if debug is None else debug
    try:
        result = body()
    except SystemExit as exc:
        if isinstance(exc.code, str) and json_from_environment():
            _say(program, exc.code.removeprefix(f"{program}: "), REFUSED)
            sys.exit(REFUSED)
        raise
    except KeyboardInterrupt:
        _say(program, "interrupted", 130)
        sys.exit(130)
    except BaseException as exc:
        known = describe(exc)
        if known is None or show_traceback:
            if not json_from_environment():
                raise
            # Still one JSON line: the traceback is a field, as structlog renders exceptions.
            _say(program, _first_line(exc), REFUSED, "".join(traceback.format_exception(exc)))
            sys.exit(known.status if known is not None else REFUSED)
        _say(program, known.message, known.status)
        sys.exit(known.status)
    sys.exit(int(result or 0))


def _say(program: str, message: str, status: int, exception: str | None = None) -> None:
    """`<program>: <message>` on stderr; one JSON object instead under `LOG_FORMAT=json`."""
    if not json_from_environment():
        print(f"{program}: {message}", file=sys.stderr)
        return
    event: dict[str, object] = {
        "event": "interrupted" if status == 130 else "exited_on_error",
        "service": program,
        "reason": message,
        "exit_status": status,
        "level": "warning" if status == 130 else "error",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    if exception is not None:
        event["exception"] = exception
    print(json.dumps(event), file=sys.stderr)


def describe(exc: BaseException) -> StartupError | None:
    """The one-line description of an expected failure, or None for a bug."""
    for item in _chain(exc):
        found = _one(item)
        if found is not None:
            return found
    return None


def check_amqp_url(url: str, variable: str = "RABBITMQ_URL") -> None:
    """Refuse a broker URL pika would choke on (`127.0.0.1:5672` raises IndexError inside it)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
        raise StartupError(
            f"{variable} is not an AMQP URL (expected amqp://user:password@host:5672/%2F,"
            f" got {redact_url(url)!r})",
            CONFIG,
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise StartupError(f"{variable} has a port that is not a number", CONFIG) from None


def redact_url(url: str) -> str:
    """`url` with its password replaced by `***` (for messages)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, the members of exception groups, then causes and contexts (each once)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, BaseExceptionGroup):
            todo.extend(item.exceptions)
        for linked in (item.__cause__, item.__context__):
            if linked is not None:
                todo.append(linked)


def _one(exc: BaseException) -> StartupError | None:
    if isinstance(exc, StartupError):
        return exc
    name = type(exc).__name__
    module = type(exc).__module__
    if name == "ValidationError" and module.startswith("pydantic"):
        return _settings_error(exc)
    if name == "UnknownTarget":
        return StartupError(str(exc), CONFIG)
    if name in ("ProbableAuthenticationError", "AuthenticationError", "ProbableAccessDeniedError"):
        return StartupError("the broker refused the credentials in RABBITMQ_URL", CONFIG)
    if name == "BrokerUnavailable":
        return _broker_unavailable(str(exc))
    if name == "AMQPConnectionError" and module.startswith("pika"):
        return StartupError("cannot connect to the broker at RABBITMQ_URL", UNREACHABLE)
    if _casebridge_kind(exc, "ConfigurationError"):
        return StartupError(f"refused by the target: {_first_line(exc)}", CONFIG)
    if module.startswith("sqlalchemy") and name in ("OperationalError", "InterfaceError"):
        return StartupError(
            f"control store unreachable (CONTROL_DATABASE_URL): {_db_reason(exc)}", UNREACHABLE
        )
    if module.startswith("sqlalchemy") and name == "ArgumentError":
        return StartupError(f"CONTROL_DATABASE_URL is malformed: {_first_line(exc)}", CONFIG)
    if module.startswith("httpx") and name.endswith(("ConnectError", "ConnectTimeout")):
        return StartupError(f"cannot reach {_request_url(exc)}: {_first_line(exc)}", UNREACHABLE)
    if name == "ClientConnectorError" and module.startswith("aiohttp"):
        where = f"{getattr(exc, 'host', '?')}:{getattr(exc, 'port', '?')}"
        return StartupError(f"cannot reach {where}: connection refused or no route", UNREACHABLE)
    if _casebridge_kind(exc, "TransientError"):
        return StartupError(f"{_first_line(exc)} (retrying later may help)", UNREACHABLE)
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return StartupError(f"cannot listen: address already in use ({_first_line(exc)})", CONFIG)
    if isinstance(exc, ConnectionRefusedError):
        return StartupError(f"connection refused ({_first_line(exc)})", UNREACHABLE)
    return None


def _casebridge_kind(exc: BaseException, kind: str) -> bool:
    """Whether `exc` is a casebridge error of `kind` (by name: no import of the taxonomy here)."""
    return any(
        c.__name__ == kind and c.__module__.startswith("casebridge") for c in type(exc).__mro__
    )


def _settings_error(exc: BaseException) -> StartupError:
    errors: list[dict[str, Any]] = exc.errors()  # type: ignore[attr-defined]
    parts = []
    for error in errors[:3]:
        variable = "_".join(str(p) for p in error.get("loc", ())).upper() or "a setting"
        if error.get("type") == "missing":
            parts.append(f"{variable} is not set")
        else:
            parts.append(f"{variable} is invalid: {error.get('msg', 'refused')}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return StartupError("; ".join(parts) + more, CONFIG)


def _broker_unavailable(text: str) -> StartupError:
    if "Authentication" in text or "AccessDenied" in text or "ACCESS_REFUSED" in text:
        return StartupError("the broker refused the credentials in RABBITMQ_URL", CONFIG)
    return StartupError(
        "cannot connect to the broker at RABBITMQ_URL (refused or not answering)", UNREACHABLE
    )


def _db_reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None)
    return _first_line(original if original is not None else exc)


def _request_url(exc: BaseException) -> str:
    try:
        request = exc.request  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return "the service"
    url = request.url
    return f"{url.scheme}://{url.host}{f':{url.port}' if url.port else ''}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def exit_with(program: str, error: StartupError) -> NoReturn:
    """Print `error` as one line (JSON under `LOG_FORMAT=json`) and exit with its status."""
    _say(program, error.message, error.status)
    sys.exit(error.status)


def check_settings(settings: object) -> None:
    """Checks a service makes before opening anything: the broker URL is an AMQP URL."""
    url = getattr(settings, "rabbitmq_url", None)
    if getattr(settings, "transport", "amqp") == "amqp" and url is not None:
        check_amqp_url(url.get_secret_value())
