"""structlog, configured once per process: JSON off a terminal, sensitive fields redacted.

Third-party libraries log through the standard library (alembic, uvicorn, aiohttp, httpx,
pika); their records go through the same processors as ours (level, time, service, redaction)
and the same renderer, so with `LOG_FORMAT=json` every line a process writes is one JSON object.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import structlog

from casebridge.redaction import Redactor

#: Libraries whose INFO lines are noise (pika logs connection details at INFO).
QUIET_LOGGERS = ("pika", "httpx", "httpcore", "aiormq", "asyncio")


def json_wanted(fmt: str) -> bool:
    """Whether `fmt` (auto, json, console) means JSON lines: auto is JSON off a terminal."""
    fmt = fmt.strip().lower()
    return fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())


def json_from_environment() -> bool:
    """JSON lines asked for by `LOG_FORMAT=json` (read before settings exist, e.g. to report
    that the settings are wrong)."""
    return os.environ.get("LOG_FORMAT", "").strip().lower() == "json"


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def stdlib_handler(
    stream: TextIO, *, redactor: Redactor, renderer: Any | None = None
) -> logging.Handler:
    """A handler rendering standard-library records like structlog events (JSON by default):
    level, time, context (service), logger name, the same redaction. Local mode's log file
    can use it too."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_shared_processors(), structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redactor,
                structlog.processors.format_exc_info,
                renderer or structlog.processors.JSONRenderer(),
            ],
        )
    )
    return handler


def configure_logging(
    level: str = "INFO",
    fmt: str = "auto",
    *,
    service: str,
    extra_sensitive: Iterable[str] = (),
) -> None:
    """Configure structlog and stdlib logging; call from `main()` only, never at import."""
    redactor = Redactor(extra_sensitive)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_wanted(fmt)
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared = _shared_processors()
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared, redactor, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    handler = stdlib_handler(sys.stderr, redactor=redactor, renderer=renderer)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    # Libraries that install their own handlers and levels (uvicorn, alembic) log through the
    # root instead, at its level.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic"):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
        library.disabled = False  # a `dictConfig` elsewhere in the process may have disabled it
        library.setLevel(logging.NOTSET)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric_level, logging.WARNING))
    # `warnings.warn` output (deprecations) becomes a log record too, not a bare stderr line.
    logging.captureWarnings(True)
