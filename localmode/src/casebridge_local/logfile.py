"""Logs of a local run go to a file, so the terminal shows only progress bars and the summary.

The services' own processors are kept: JSON lines, sensitive fields redacted by name (the
transformer tables' list included), so the file carries ids, never child data.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import structlog

from casebridge.logs import stdlib_handler
from casebridge.redaction import Redactor


@contextlib.contextmanager
def logging_to(path: Path, level: str, *, sensitive: Iterable[str] = ()) -> Iterator[None]:
    """Route structlog and stdlib logging to `path` (appended) for the block; restore after."""
    path.parent.mkdir(parents=True, exist_ok=True)
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    with path.open("a", encoding="utf-8") as stream:
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                Redactor(sensitive),
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(numeric),
            logger_factory=structlog.PrintLoggerFactory(stream),
            # Not cached: loggers must follow this configuration and the reset after it.
            cache_logger_on_first_use=False,
        )
        # Standard-library records (alembic, uvicorn, aiohttp, httpx) as JSON lines too, with
        # the same redaction: every line of the file parses.
        root.handlers = [stdlib_handler(stream, redactor=Redactor(sensitive))]
        root.setLevel(max(numeric, logging.INFO))
        logging.getLogger("pika").setLevel(logging.WARNING)
        try:
            yield
        finally:
            root.handlers, root.level = saved_handlers, saved_level
            structlog.reset_defaults()
