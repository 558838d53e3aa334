"""`fetcher-primero [--once]`: settings -> logging -> bootstrap -> poll (or one pass)."""

from __future__ import annotations

import argparse
import asyncio

from casebridge.logs import configure_logging
from casebridge.runtime import run_service, tune_gc
from casebridge.startup import check_settings, run_main
from fetcher_primero.bootstrap import bootstrap
from fetcher_primero.config import Settings


def main() -> None:
    """One line and an exit status for an expected start-up failure (casebridge.startup)."""
    run_main("fetcher-primero", _main)


def _main() -> None:
    """Poll until SIGTERM, or run one pass with --once."""
    parser = argparse.ArgumentParser(prog="fetcher-primero", description=__doc__)
    parser.add_argument("--once", action="store_true", help="one fetch pass, then exit")
    parser.add_argument(
        "--full-resync",
        action="store_true",
        help="O1: read everything from O1_START_CURSOR and republish it (as O1_FULL_RESYNC)",
    )
    args = parser.parse_args()
    settings = Settings()
    check_settings(settings)
    if args.full_resync:
        settings = settings.model_copy(update={"o1_full_resync": True})
    configure_logging(settings.log_level, settings.log_format, service="fetcher-primero")
    service = bootstrap(settings)
    tune_gc()
    if args.once:
        asyncio.run(service.run_once())
        return
    asyncio.run(
        run_service(
            start=service.start,
            stop=service.stop,
            ready=service.ready,
            health=settings,
            service="fetcher-primero",
        )
    )


if __name__ == "__main__":
    main()
