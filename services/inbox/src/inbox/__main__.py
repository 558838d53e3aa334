"""`inbox`: settings -> logging -> bootstrap -> serve until SIGTERM."""

from __future__ import annotations

import asyncio

import structlog

from casebridge.logs import configure_logging
from casebridge.runtime import run_service
from casebridge.startup import check_settings, run_main
from inbox.bootstrap import bootstrap
from inbox.config import Settings


def main() -> None:
    """One line and an exit status for an expected start-up failure (casebridge.startup)."""
    run_main("inbox", _main)


def _main() -> None:
    """Serve the webhook routes until SIGTERM; exit 0 after in-flight requests finished."""
    settings = Settings()
    check_settings(settings)
    configure_logging(settings.log_level, settings.log_format, service="inbox")
    log = structlog.get_logger("inbox")
    for name, key in (
        ("INBOX_DTP_API_KEY", settings.inbox_dtp_api_key),
        ("INBOX_PRIMERO_API_KEY", settings.inbox_primero_api_key),
    ):
        if not key.get_secret_value():
            log.warning("inbox_key_unset", variable=name, effect="every call is refused with 401")
    service = bootstrap(settings)
    asyncio.run(
        run_service(
            start=service.start,
            stop=service.stop,
            ready=service.ready,
            health=settings,
            service="inbox",
        )
    )


if __name__ == "__main__":
    main()
