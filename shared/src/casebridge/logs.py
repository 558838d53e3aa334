"""structlog, configured once per process: JSON off a terminal, sensitive fields redacted."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

import structlog

from casebridge.redaction import Redactor


def configure_logging(
    level: str = "INFO",
    fmt: str = "auto",
    *,
    service: str,
    extra_sensitive: Iterable[str] = (),
) -> None:
    """Configure structlog and stdlib logging; call from `main()` only, never at import."""
    redactor = Redactor(extra_sensitive)
    json_output = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redactor,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(name)s %(message)s")
    # pika logs connection details at INFO; keep it to warnings.
    logging.getLogger("pika").setLevel(logging.WARNING)
